"""Parsing of ``occurred_at``, the instant a signal happened.

The dedupe key uses the instant, not its spelling, so every service must read a
timestamp the same way and refuse the same ones. Python's ``fromisoformat`` accepts
more than RFC 3339 (no offset, week dates, ``,`` as decimal mark) and raises
ValueError or OverflowError on edge cases; this module is the one strict reader.
"""

from __future__ import annotations

import functools
import re
from datetime import UTC, datetime, timedelta, timezone
from typing import Final

FIELD: Final = "occurred_at"
DEFAULT_MAX_FUTURE: Final = timedelta(days=1)

# Far beyond any real timestamp; refusing longer text keeps the regex cheap.
MAX_LENGTH: Final = 64

_RFC3339: Final = re.compile(
    r"""
    (?P<year>[0-9]{4,})-(?P<month>[0-9]{2})-(?P<day>[0-9]{2})
    [Tt ]
    (?P<hour>[0-9]{2}):(?P<minute>[0-9]{2}):(?P<second>[0-9]{2})
    (?:\.(?P<fraction>[0-9]+))?
    (?P<offset>[Zz]|(?P<sign>[+-])(?P<off_hour>[0-9]{2}):(?P<off_minute>[0-9]{2}))
    """,
    re.VERBOSE | re.ASCII,
)


class InstantError(ValueError):
    """An ``occurred_at`` that cannot be used, with the reason for the 400."""

    field: str = FIELD

    def __init__(self, message: str) -> None:
        super().__init__(f"{FIELD}: {message}")
        self.message = message


def _offset(match: re.Match[str]) -> timezone:
    """The UTC offset a matched timestamp was written in."""
    if match["sign"] is None:
        return UTC

    hours, minutes = int(match["off_hour"]), int(match["off_minute"])
    if hours > 23 or minutes > 59:
        raise InstantError("has an offset outside -23:59..+23:59")

    delta = timedelta(hours=hours, minutes=minutes)
    return timezone(-delta if match["sign"] == "-" else delta)


def _to_datetime(match: re.Match[str]) -> datetime:
    """The aware UTC datetime of a matched timestamp, or InstantError."""
    if len(match["year"]) > 4:
        raise InstantError("has a year beyond 9999")
    if match["second"] == "60":
        raise InstantError("is a leap second, which cannot be represented")

    fraction = (match["fraction"] or "")[:6].ljust(6, "0")
    tzinfo = _offset(match)
    try:
        local = datetime(
            int(match["year"]),
            int(match["month"]),
            int(match["day"]),
            int(match["hour"]),
            int(match["minute"]),
            int(match["second"]),
            int(fraction),
            tzinfo,
        )
        return local.astimezone(UTC)
    except (ValueError, OverflowError) as error:
        raise InstantError("is not a representable date and time") from error


# A batch from one feed often stamps many events with the same instant, and the
# text alone decides the datetime, so results are memoized; the future check,
# which depends on the clock, is not.
@functools.lru_cache(maxsize=4096)
def _parsed(raw: str) -> datetime:
    """The aware UTC datetime a timestamp text spells, or InstantError."""
    match = _RFC3339.fullmatch(raw)
    if match is None:
        raise InstantError(
            "must be an RFC 3339 timestamp with an offset, "
            "such as 2024-05-01T12:00:00Z or 2024-05-01T14:00:00+02:00"
        )
    return _to_datetime(match)


def parse_instant(
    raw: object, *, now: datetime, max_future: timedelta = DEFAULT_MAX_FUTURE
) -> datetime:
    """Read an RFC 3339 timestamp with an offset into an aware UTC datetime.

    ``Z`` and ``z`` mean UTC, and ``T``, ``t`` or a space separate date and time.
    Fractional seconds are kept to the microsecond; further digits are truncated,
    never rounded, because rounding could carry into the next second and move the
    instant across a key boundary: ``12:00:00.0000009Z`` is ``12:00:00Z``.
    A value without an offset is refused (its instant is unknown), as are a date
    alone, a leap second, and instants outside what Python can hold once in UTC.
    An instant more than ``max_future`` after ``now`` is refused as a clock or unit
    error at the producer; the gateway reads ``max_future`` from its settings.
    """
    if now.tzinfo is None:
        raise TypeError("now must be an aware datetime")
    if not isinstance(raw, str):
        raise InstantError("must be an RFC 3339 timestamp string")
    if len(raw) > MAX_LENGTH:
        raise InstantError("is too long to be a timestamp")

    instant = _parsed(raw)
    if instant - now > max_future:
        raise InstantError(
            f"is too far in the future (more than {max_future} ahead of the server)"
        )
    return instant


def format_instant(instant: datetime) -> str:
    """The instant in UTC as ISO 8601 text, microseconds shown only when non-zero."""
    if instant.tzinfo is None:
        raise TypeError("instant must be an aware datetime")
    return instant.astimezone(UTC).isoformat()


def epoch_micros(instant: datetime) -> int:
    """Microseconds since the Unix epoch, exact (Avro ``timestamp-micros``)."""
    if instant.tzinfo is None:
        raise TypeError("instant must be an aware datetime")
    return (instant - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(microseconds=1)
