"""The signal contract names every offending field of a body."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from ingest_gateway.errors import ApiError
from ingest_gateway.validation import ValidSignal, validate_signal
from schemas.workspace import new_workspace

NOW = datetime(2024, 6, 1, tzinfo=UTC)
WORKSPACE, _KEY = new_workspace("unit")
BODY: dict[str, Any] = {
    "signal_type": "website_visit",
    "source": "web_tracker",
    "occurred_at": "2024-05-01T12:00:00Z",
    "identity": {"email": "Ana@Example.com"},
}


def check(body: Any, workspace: dict[str, Any] | None = None) -> ValidSignal:
    return validate_signal(
        body,
        workspace or WORKSPACE,
        now=NOW,
        max_future=timedelta(days=1),
        max_depth=8,
    )


def fields_of(body: Any, workspace: dict[str, Any] | None = None) -> list[str]:
    with pytest.raises(ApiError) as caught:
        check(body, workspace)
    return [f.field for f in caught.value.fields]


def test_valid_body_has_its_canonical_identity() -> None:
    """A valid body comes back with the email in canonical form."""
    signal = check(BODY)

    assert signal.canonical.email == "ana@example.com"


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"signal_type": None}, "signal_type"),
        ({"source": ""}, "source"),
        ({"occurred_at": "2024-05-01T12:00:00"}, "occurred_at"),
        ({"occurred_at": "2024-05-01"}, "occurred_at"),
        ({"occurred_at": "2024-06-03T00:00:00Z"}, "occurred_at"),
        ({"identity": {"first_name": "Ana"}}, "identity"),
        ({"identity": {"email": "not-an-email"}}, "identity.email"),
        ({"context": [1, 2]}, "context"),
        ({"context": {"score": float("inf")}}, "context"),
        ({"context": {"nested": [float("nan")]}}, "context"),
        ({"colour": "red"}, "colour"),
    ],
)
def test_each_broken_field_is_named(changes: dict[str, Any], field: str) -> None:
    """Missing, malformed and unknown fields are named by their path."""
    assert field in fields_of({**BODY, **changes})


@pytest.mark.parametrize("body", [[], None, "text", 3])
def test_a_body_that_is_not_an_object_names_the_root(body: Any) -> None:
    """Arrays, null and scalars are refused on ``$``."""
    assert fields_of(body) == ["$"]


def test_disabled_type_is_a_403() -> None:
    """A built-in type switched off in the workspace is refused with 403."""
    workspace = {**WORKSPACE, "disabled_signal_types": ["website_visit"]}

    with pytest.raises(ApiError) as caught:
        check(BODY, workspace)

    assert caught.value.status == 403
