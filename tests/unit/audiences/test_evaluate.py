"""Evaluation of conditions for one lead, windows and membership decisions."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from stream_processors.audiences.evaluate import (
    LeadFacts,
    evaluate,
    micros,
    next_change,
)
from stream_processors.audiences.language import parse
from stream_processors.audiences.membership import decide
from stream_processors.audiences.state import empty_state, merge, observation

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


def signal(
    capture_id: str, days_ago: float, signal_type: str = "custom_event", **context: Any
) -> dict[str, Any]:
    return {
        "capture_id": capture_id,
        "occurred_at": micros(NOW - timedelta(days=days_ago)),
        "signal_type": signal_type,
        "source": "product",
        "event_name": None,
        "bucket": None,
        "context": context,
    }


def test_latest_signal_decides_bare_signal_paths() -> None:
    """``signals.x`` reads the newest signal, so a newer one can undo a match."""
    condition = parse("signals.context.team_size > 10")
    grew = LeadFacts(
        {"lead_id": "l"},
        None,
        [signal("a", 2, team_size=5), signal("b", 1, team_size=14)],
    )
    shrank = LeadFacts(
        {"lead_id": "l"},
        None,
        [signal("a", 2, team_size=14), signal("b", 1, team_size=5)],
    )

    assert evaluate(condition, grew, NOW).holds
    assert not evaluate(condition, shrank, NOW).holds
    assert "team_size = 14" in evaluate(condition, grew, NOW).reason


def test_window_count_and_when_it_changes() -> None:
    """A 14-day count holds until its oldest counted signal is 14 days old."""
    condition = parse('count(signals.signal_type == "pricing_page_visit", 14d) >= 1')
    lead = LeadFacts({"lead_id": "l"}, None, [signal("a", 3, "pricing_page_visit")])

    assert evaluate(condition, lead, NOW).holds
    assert next_change(condition, lead, NOW) == NOW + timedelta(days=11)
    assert not evaluate(condition, lead, NOW + timedelta(days=11)).holds


def test_at_least_three_in_thirty_days() -> None:
    """Counts compare like numbers and ignore signals outside the window."""
    condition = parse('count(signals.signal_type == "t", 30d) >= 3')
    two = [signal("a", 40, "t"), signal("b", 10, "t"), signal("c", 5, "t")]
    three = [*two, signal("d", 1, "t")]

    assert not evaluate(condition, LeadFacts({}, None, two), NOW).holds
    assert evaluate(condition, LeadFacts({}, None, three), NOW).holds


def test_lead_company_in_and_missing_values() -> None:
    """Missing fields never order; ``in``, ``exists`` and ``not`` behave as said."""
    lead = LeadFacts({"icp_code": "A", "icp_score": 80}, {"employees": 300}, [])

    assert evaluate(
        parse('lead.icp_code in ["A", "B"] and lead.icp_score > 70'), lead, NOW
    ).holds
    assert evaluate(
        parse("company.employees >= 100 and company.employees < 1000"), lead, NOW
    ).holds
    assert not evaluate(parse("company.revenue > 1"), lead, NOW).holds
    assert not evaluate(parse("company.revenue <= 1"), lead, NOW).holds
    assert evaluate(parse("not exists(company.revenue)"), lead, NOW).holds
    assert not evaluate(parse('lead.icp_score == "80"'), lead, NOW).holds


@given(
    st.one_of(st.integers(-50, 50), st.floats(-50, 50), st.text(max_size=3), st.none())
)
def test_negation_is_the_opposite(value: Any) -> None:
    """``not C`` holds exactly when ``C`` does not, whatever the value's type."""
    lead = LeadFacts({}, None, [signal("a", 1, team_size=value)])
    condition = parse("signals.context.team_size > 10")
    negated = parse("not signals.context.team_size > 10")

    assert evaluate(condition, lead, NOW).holds != evaluate(negated, lead, NOW).holds


def record(
    capture_id: str, lead_id: str, days_ago: float, **context: Any
) -> dict[str, Any]:
    return {
        "capture_id": capture_id,
        "workspace_id": "w",
        "lead_id": lead_id,
        "lead_kind": "person",
        "signal_type": "custom_event",
        "source": "product",
        "event_name": None,
        "bucket": None,
        "occurred_at": NOW - timedelta(days=days_ago),
        "identity_normalized": {"title": "VP Sales"},
        "context_json": json.dumps({"team_size": context["team_size"]}),
        "company": None,
        "qualification": None,
    }


AUDIENCE = {
    "audience_id": "aud",
    "name": "big teams",
    "condition": "signals.context.team_size > 10",
    "version": 1,
}


def test_enter_once_then_leave() -> None:
    """A lead enters once however often it is re-seen, and leaves with a reason."""
    state = merge(None, observation(record("c1", "l", 2, team_size=14)), NOW)
    state, entered = decide(state, [AUDIENCE], NOW, "c1")
    replayed = merge(state, observation(record("c1", "l", 2, team_size=14)), NOW)
    replayed, again = decide(replayed, [AUDIENCE], NOW, "c1")
    state = merge(replayed, observation(record("c2", "l", 1, team_size=5)), NOW)
    state, left = decide(state, [AUDIENCE], NOW, "c2")

    assert [e["change"] for e in entered] == ["entered"]
    assert again == []
    assert [e["change"] for e in left] == ["left"]
    assert "team_size = 5" in left[0]["reason"]
    assert state["members"] == {}


def test_state_is_bounded_and_dedupes_signals() -> None:
    """Old signals and signals past the cap are dropped; a capture is kept once."""
    state = empty_state("w", "l")
    for number in range(10):
        message = observation(record(f"c{number}", "l", 10 - number, team_size=number))
        state = merge(state, message, NOW, max_signals=4)
    state = merge(state, observation(record("old", "l", 200, team_size=1)), NOW)

    assert [s["capture_id"] for s in state["signals"]] == ["c6", "c7", "c8", "c9"]


def test_deleted_audience_is_forgotten_without_an_event() -> None:
    """Membership of an audience that no longer exists is dropped silently."""
    state = merge(None, observation(record("c1", "l", 2, team_size=14)), NOW)
    state, _ = decide(state, [AUDIENCE], NOW, "c1")

    state, events = decide(state, [], NOW, "tick")

    assert events == []
    assert state["members"] == {}
