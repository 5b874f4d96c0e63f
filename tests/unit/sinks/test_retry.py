"""Backoff schedule and Retry-After parsing."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest

from sinks.backoff import backoff_ceiling, full_jitter
from sinks.webhooks.retry import parse_retry_after, retry_delay


def test_ceiling_doubles_then_caps() -> None:
    """The ceiling grows 1, 2, 4, ... and never passes the cap."""
    ceilings = [backoff_ceiling(n, 1.0, 60.0) for n in range(1, 10)]

    assert ceilings == [1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 60.0, 60.0, 60.0]


def test_huge_attempt_numbers_stay_capped() -> None:
    """A very late retry does not overflow; it waits the cap at most."""
    assert backoff_ceiling(10_000, 1.0, 60.0) == 60.0


def test_full_jitter_stays_within_bounds_and_spreads() -> None:
    """Delays fall in [0, ceiling] and are spread, not all equal."""
    rng = random.Random(7)

    delays = [full_jitter(4, 1.0, 60.0, rng) for _ in range(500)]

    assert all(0.0 <= d <= 8.0 for d in delays)
    assert min(delays) < 2.0
    assert max(delays) > 6.0


@pytest.mark.parametrize(
    ("header", "expected"),
    [("120", 120.0), (" 5 ", 5.0), ("0", 0.0), (None, None), ("soon", None)],
)
def test_retry_after_seconds(header: str | None, expected: float | None) -> None:
    """Delay-seconds parse as seconds; absent or garbage headers give None."""
    assert parse_retry_after(header) == expected


def test_retry_after_http_date() -> None:
    """An HTTP date gives the seconds from now until then."""
    now = datetime(2024, 5, 1, 12, 0, 0, tzinfo=UTC)
    header = format_datetime(now + timedelta(seconds=90), usegmt=True)

    assert parse_retry_after(header, now) == 90.0


def test_retry_after_date_in_the_past_means_now() -> None:
    """A date already gone asks for no wait, never a negative one."""
    now = datetime(2024, 5, 1, 12, 0, 0, tzinfo=UTC)
    header = format_datetime(now - timedelta(hours=1), usegmt=True)

    assert parse_retry_after(header, now) == 0.0


def test_retry_after_wins_when_longer_but_is_capped() -> None:
    """The receiver's wait is honoured over our jitter, up to our own bound."""
    assert retry_delay(1, 0.01, 0.01, 30.0, 600.0) == 30.0
    assert retry_delay(1, 0.01, 0.01, 10_000.0, 600.0) == 600.0
    assert retry_delay(1, 0.01, 0.01, None, 600.0) <= 0.01
