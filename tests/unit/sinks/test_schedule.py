"""Retry state carried in Kafka headers."""

from __future__ import annotations

from datetime import UTC, datetime

from sinks.webhooks.schedule import EPOCH, RetryState, read_state

DUE = datetime(2024, 5, 1, 12, 0, 0, 250000, tzinfo=UTC)


def test_state_survives_the_headers_round_trip() -> None:
    """Attempt, not-before (to the millisecond) and a redelivery budget come back."""
    state = RetryState(4, DUE, last_attempt=19)

    assert read_state(state.headers()) == state


def test_message_without_headers_is_a_first_attempt_due_now() -> None:
    """Messages of the first-attempt topic carry no headers at all."""
    assert read_state(None) == RetryState(1, EPOCH, None)


def test_damaged_headers_fall_back_instead_of_stranding() -> None:
    """Unreadable values read as defaults; a zero attempt reads as the first."""
    headers = [("unstuck-attempt", b"0"), ("unstuck-not-before-ms", b"soon")]

    assert read_state(headers) == RetryState(1, EPOCH, None)


def test_exhaustion_uses_the_redelivery_budget_when_present() -> None:
    """The configured maximum applies unless a redelivery set its own last attempt."""
    assert RetryState(8).exhausted(8)
    assert not RetryState(8, last_attempt=23).exhausted(8)
    assert RetryState(3).next(DUE) == RetryState(4, DUE, None)
