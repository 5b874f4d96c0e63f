"""Every schema stays fully compatible with each of its released versions."""

from __future__ import annotations

import copy
import json
from typing import Any

import fastavro
import pytest

from tests.unit.contract.compatibility import (
    AVRO_DIR,
    RELEASED_DIR,
    compatibility_errors,
    load_set,
    round_trip_errors,
)

RELEASES = sorted(p.name for p in RELEASED_DIR.iterdir() if p.is_dir())

# A schema of the test itself, standing for a released version.
RELEASED_LEAD: dict[str, Any] = {
    "type": "record",
    "name": "Lead",
    "namespace": "test.contract",
    "fields": [
        {"name": "lead_id", "type": "string"},
        {"name": "icp_score", "type": "int"},
        {"name": "title", "type": ["null", "string"], "default": None},
    ],
}


def evolved(change: str) -> dict[str, Any]:
    """The released test schema after one change."""
    schema = copy.deepcopy(RELEASED_LEAD)
    fields = schema["fields"]
    if change == "add_optional":
        fields.append({"name": "plan", "type": ["null", "string"], "default": None})
    elif change == "add_required":
        fields.append({"name": "plan", "type": "string"})
    elif change == "retype":
        fields[1]["type"] = "string"
    elif change == "remove_with_default":
        del fields[2]
    elif change == "remove_required":
        del fields[0]
    return schema


def parse(schema: dict[str, Any]) -> Any:
    return fastavro.parse_schema(copy.deepcopy(schema), named_schemas={})


def test_there_is_a_released_version() -> None:
    """0.1.0 is stored, so the check below compares against something."""
    assert "0.1.0" in RELEASES
    assert load_set(RELEASED_DIR / "0.1.0")


@pytest.mark.parametrize("release", RELEASES)
def test_current_schemas_are_compatible_with_release(release: str) -> None:
    """Each current .avsc reads and is read by its released version."""
    released = load_set(RELEASED_DIR / release)
    current = load_set(AVRO_DIR)

    errors = {
        stem: compatibility_errors(released[stem], current[stem])
        for stem in released
        if stem in current
    }

    assert {stem: e for stem, e in errors.items() if e} == {}


@pytest.mark.parametrize("release", RELEASES)
def test_no_released_schema_disappears(release: str) -> None:
    """A schema once released keeps its file: subscribers still decode with it."""
    released = {p.stem for p in (RELEASED_DIR / release).glob("*.avsc")}
    current = {p.stem for p in AVRO_DIR.glob("*.avsc")}

    assert released - current == set()


def test_adding_an_optional_field_is_compatible() -> None:
    """The allowed evolution passes both checks."""
    errors = compatibility_errors(parse(RELEASED_LEAD), parse(evolved("add_optional")))

    assert errors == []


@pytest.mark.parametrize(
    "change", ["add_required", "retype", "remove_with_default", "remove_required"]
)
def test_a_broken_schema_is_caught(change: str) -> None:
    """Each forbidden change makes the check fail."""
    errors = compatibility_errors(parse(RELEASED_LEAD), parse(evolved(change)))

    assert errors, f"{change} was not detected"


def test_round_trip_catches_what_readers_would_hit() -> None:
    """A field added without a default breaks old data for the new reader."""
    errors = round_trip_errors(parse(RELEASED_LEAD), parse(evolved("add_required")))

    assert errors


def test_released_files_are_valid_json_schemas() -> None:
    """Released copies parse on their own, as a subscriber would load them."""
    for release in RELEASES:
        for path in (RELEASED_DIR / release).glob("*.avsc"):
            assert json.loads(path.read_text(encoding="utf-8"))["type"] == "record"
