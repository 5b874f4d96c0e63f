"""Vendor detection and file reading (JSON, arrays, list wrappers, JSON Lines)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ingest_gateway.vendors import (
    VENDORS,
    VendorFileError,
    detect_vendor,
    signals_from_file,
    signals_from_payload,
)
from tests.unit.vendors.contract import FIXTURES, load, payload_files


@pytest.mark.parametrize("vendor", ["calendly", "pipedrive", "segment"])
def test_every_single_payload_is_detected_as_its_vendor(vendor: str) -> None:
    """Each payload of these folders is recognised as coming from its vendor."""
    detected = {detect_vendor(load(vendor, p.name)) for p in payload_files(vendor)}

    assert {vendor} <= detected
    assert detected <= {vendor, None}


def test_wrapped_and_bare_payloads_of_other_vendors_are_detected() -> None:
    """Items inside list wrappers and webhook arrays are HubSpot or Typeform."""
    samples = [
        load("hubspot", "get-contacts-recently-updated.json")["contacts"][0],
        load("hubspot", "hubspot-email-events.json")["events"][0],
        load("hubspot", "receive-contact-deleted-webhook.json")[0],
        load("hubspot", "activepieces__hubspot_new_company.json"),
        load("typeform", "example-form-responses.json")["items"][0],
        load("typeform", "activepieces__typeform_new_submission.json"),
    ]

    detected = [detect_vendor(s) for s in samples]

    assert detected == ["hubspot"] * 4 + ["typeform"] * 2


def test_unrelated_objects_are_not_detected() -> None:
    """Objects of no known vendor, and non-objects, give None."""
    assert [
        detect_vendor({"hello": 1}),
        detect_vendor([]),
        detect_vendor("x"),
    ] == [None, None, None]


def test_file_counts_per_vendor_without_a_vendor_hint() -> None:
    """Reading every fixture file with detection yields the documented counts."""
    counts = {
        v: sum(len(signals_from_file(p)) for p in payload_files(v))
        for v in sorted(VENDORS)
    }

    assert counts == {
        "calendly": 3,
        "hubspot": 12,
        "pipedrive": 1,
        "segment": 5,
        "typeform": 2,
    }


def test_json_lines_file_maps_each_line(tmp_path: Path) -> None:
    """A JSON Lines file of vendor payloads maps line by line, blank lines ignored."""
    lines = [json.dumps(load("calendly", p.name)) for p in payload_files("calendly")]
    path = tmp_path / "calendly.jsonl"
    path.write_text("\n".join(lines) + "\n\n", encoding="utf-8")

    bodies = signals_from_file(path)

    assert [b["source"] for b in bodies] == ["calendly"] * 3


def test_bad_json_lines_name_the_line(tmp_path: Path) -> None:
    """A broken line fails with its line number, not a bare decoder error."""
    path = tmp_path / "bad.jsonl"
    path.write_text('{"a": 1}\n{oops\n', encoding="utf-8")

    with pytest.raises(VendorFileError, match="line 2"):
        signals_from_file(path)


def test_unknown_vendor_name_is_refused() -> None:
    """Asking for a vendor that has no mapping is a caller error."""
    with pytest.raises(ValueError, match="unknown vendor"):
        signals_from_payload({}, "salesforce")


def test_vendor_hint_overrides_detection() -> None:
    """With a vendor named, its mapper runs even on payloads detection would miss."""
    payload = load(
        "segment", "connections_destinations_catalog_webhooks__04_alias.json"
    )

    assert detect_vendor(payload) is None
    assert signals_from_payload(payload, "segment") == []


def test_keys_are_unique_across_all_fixtures() -> None:
    """No two distinct fixture signals share an idempotency key."""
    bodies = [
        b for v in VENDORS for p in payload_files(v) for b in signals_from_file(p)
    ]

    keys = [b["idempotency_key"] for b in bodies if "idempotency_key" in b]
    assert len(keys) == len(set(keys))
    assert FIXTURES.is_dir()
