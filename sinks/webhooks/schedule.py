"""The retry state a webhook message carries in its Kafka headers.

Headers rather than a schema of their own: a retry is the same ``webhook`` value
as the first attempt, so subscribers of either topic read one contract, and the
bytes a receiver is sent never change between attempts.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

ATTEMPT_HEADER = "unstuck-attempt"
NOT_BEFORE_HEADER = "unstuck-not-before-ms"
LAST_ATTEMPT_HEADER = "unstuck-last-attempt"

HeaderValue = str | bytes | None
Headers = dict[str, HeaderValue] | Sequence[tuple[str, HeaderValue]] | None

EPOCH = datetime.fromtimestamp(0, UTC)


@dataclass(frozen=True)
class RetryState:
    """Which attempt a message is due for, and not before when.

    ``last_attempt`` overrides the configured maximum for a redelivery an
    operator asked for, so it gets a full retry budget of its own.
    """

    attempt: int = 1
    not_before: datetime = EPOCH
    last_attempt: int | None = None

    def headers(self) -> list[tuple[str, HeaderValue]]:
        """The Kafka headers that carry this state to the retry topic."""
        millis = int(self.not_before.timestamp() * 1000)
        found: list[tuple[str, HeaderValue]] = [
            (ATTEMPT_HEADER, str(self.attempt).encode()),
            (NOT_BEFORE_HEADER, str(millis).encode()),
        ]
        if self.last_attempt is not None:
            found.append((LAST_ATTEMPT_HEADER, str(self.last_attempt).encode()))
        return found

    def exhausted(self, max_attempts: int) -> bool:
        """Whether this attempt was the last one allowed."""
        last = self.last_attempt if self.last_attempt is not None else max_attempts
        return self.attempt >= last

    def next(self, not_before: datetime) -> RetryState:
        """The state of the following attempt."""
        return RetryState(self.attempt + 1, not_before, self.last_attempt)


def read_state(headers: Headers) -> RetryState:
    """The state in ``headers``; a message without them is a first attempt, due now.

    Unreadable values fall back to the same defaults: a damaged header must not
    strand a delivery.
    """
    values = dict(headers.items() if isinstance(headers, dict) else headers or ())
    attempt = _int(values.get(ATTEMPT_HEADER))
    millis = _int(values.get(NOT_BEFORE_HEADER))
    last = _int(values.get(LAST_ATTEMPT_HEADER))

    not_before = EPOCH if millis is None else datetime.fromtimestamp(millis / 1000, UTC)
    return RetryState(max(attempt or 1, 1), not_before, last)


def _int(value: bytes | str | None) -> int | None:
    if value is None:
        return None
    text = value.decode("ascii", "replace") if isinstance(value, bytes) else value
    try:
        return int(text)
    except ValueError:
        return None
