"""Lead matching decisions, without a database."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sinks.records.matching import StoredLead, match_leads

T0 = datetime(2024, 5, 1, tzinfo=UTC)


def _record(
    capture: str,
    lead: str,
    *,
    email: str | None = None,
    linkedin: str | None = None,
    minute: int = 0,
    kind: str = "person",
) -> dict[str, Any]:
    return {
        "capture_id": capture,
        "workspace_id": "ws",
        "lead_id": lead,
        "lead_kind": kind,
        "occurred_at": T0 + timedelta(minutes=minute),
        "identity_normalized": {"email": email, "linkedin_url": linkedin},
    }


def test_linkedin_only_signal_joins_the_email_lead_in_one_batch() -> None:
    """Within a batch, a LinkedIn-only record follows the earlier email+LinkedIn one."""
    records = [
        _record("c2", "L", linkedin="jane", minute=1),
        _record("c1", "E", email="jane@x.com", linkedin="jane"),
    ]

    resolution = match_leads(records, [], {})

    assert resolution.lead_of_capture == {"c1": "E", "c2": "E"}
    assert resolution.aliases == {"L": ("ws", "E")}


def test_stored_lead_found_by_linkedin() -> None:
    """A stored lead holding the profile wins over the derived id."""
    stored = [StoredLead("E", "ws", "jane@x.com", "jane")]

    resolution = match_leads([_record("c9", "L", linkedin="jane")], stored, {})

    assert resolution.lead_of_capture == {"c9": "E"}


def test_known_alias_is_followed() -> None:
    """A derived id already aliased resolves to its survivor without a lookup hit."""
    resolution = match_leads([_record("c1", "L", linkedin="x")], [], {"L": "E"})

    assert resolution.lead_of_capture == {"c1": "E"}
    assert resolution.aliases == {}


def test_two_leads_bridged_by_one_signal_are_merged_into_the_first() -> None:
    """Email lead E and profile lead L met by one signal: L becomes an alias of E."""
    stored = [
        StoredLead("E", "ws", "jane@x.com", None),
        StoredLead("L", "ws", None, "jane"),
    ]
    bridge = _record("c1", "E", email="jane@x.com", linkedin="jane")

    resolution = match_leads([bridge], stored, {"L2": "L"})

    assert resolution.lead_of_capture == {"c1": "E"}
    assert resolution.aliases == {"L": ("ws", "E"), "L2": ("ws", "E")}
    assert resolution.absorbed == ["L"]


def test_accounts_and_other_workspaces_are_left_alone() -> None:
    """Account records keep their id; the same email in another workspace is apart."""
    other = {**_record("c2", "P2", email="jane@x.com"), "workspace_id": "ws2"}
    records = [_record("c1", "A", kind="account"), other]
    stored = [StoredLead("E", "ws", "jane@x.com", None)]

    resolution = match_leads(records, stored, {})

    assert resolution.lead_of_capture == {"c1": "A", "c2": "P2"}
