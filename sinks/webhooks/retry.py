"""When to try a webhook delivery again."""

from __future__ import annotations

from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

from sinks.backoff import full_jitter

# Receivers say "slow down" with these; their Retry-After is honoured.
THROTTLE_STATUSES = frozenset({429, 503})


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds to wait from a Retry-After header (delay-seconds or HTTP-date).

    Returns None when the header is absent or unreadable, so the caller falls
    back to its own backoff; a date in the past means "now" (0 s).
    """
    if value is None:
        return None
    text = value.strip()

    if text.isdigit():
        return float(text)

    try:
        moment = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return max(0.0, (moment - (now or datetime.now(UTC))).total_seconds())


def retry_delay(
    failures: int,
    base: float,
    cap: float,
    retry_after: float | None,
    retry_after_cap: float,
) -> float:
    """The wait before the next attempt after ``failures`` failed ones.

    A receiver's Retry-After wins over our jitter when it asks for longer, up to
    ``retry_after_cap``.
    """
    delay = full_jitter(failures, base, cap)
    if retry_after is not None:
        delay = max(delay, min(retry_after, retry_after_cap))
    return delay
