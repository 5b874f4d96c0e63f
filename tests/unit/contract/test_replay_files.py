"""``unstuck replay`` says what each file was recognised as, or that it was not."""

from __future__ import annotations

import json
from pathlib import Path

from structlog.testing import capture_logs

from deploy.admin import describe_mapping
from ingest_gateway.vendors import map_file
from tests.unit.vendors.contract import payload_files


def test_a_vendor_file_is_logged_and_described_with_its_vendor() -> None:
    """The log names the detected vendor, not the (absent) --vendor hint."""
    path = payload_files("calendly")[0]

    with capture_logs() as logs:
        mapping = map_file(path)

    assert mapping.vendors == ("calendly",)
    assert [(e["event"], e["vendor"]) for e in logs] == [
        ("vendor_file_mapped", "calendly")
    ]
    assert describe_mapping(mapping) == f"{path}: calendly, 1 signal"


def test_an_unmappable_file_says_so(tmp_path: Path) -> None:
    """A file of no known vendor is a warning and a line that nothing was sent."""
    path = tmp_path / "export.json"
    path.write_text(json.dumps([{"hello": 1}, {"world": 2}]), encoding="utf-8")

    with capture_logs() as logs:
        mapping = map_file(path)

    assert (mapping.vendors, mapping.payloads, mapping.unrecognized) == ((), 2, 2)
    assert logs[-1]["event"] == "vendor_file_unrecognized"
    assert logs[-1]["log_level"] == "warning"
    assert describe_mapping(mapping) == (
        f"{path}: not recognised as a payload of any vendor (calendly, hubspot,"
        " pipedrive, segment, typeform); nothing to send (name the vendor with"
        " --vendor)"
    )


def test_a_recognised_file_without_leads_is_told_apart(tmp_path: Path) -> None:
    """Recognised but mapping to nothing is not the same as unrecognised."""
    path = tmp_path / "alias.json"
    path.write_text(
        json.dumps({"type": "alias", "userId": "u1", "previousId": "u0"}),
        encoding="utf-8",
    )

    mapping = map_file(path)

    assert mapping.vendors == ("segment",)
    assert describe_mapping(mapping).startswith(f"{path}: segment, no signals (")
