"""Per-workspace event budgets: a minute window and a day window.

Counts are kept in this process. With several replicas each one enforces the whole
limit on what it sees, so a workspace can exceed its limit by up to the replica
count; a shared counter (a Kafka-backed or PostgreSQL one) is what issue 3 adds.
"""

from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass


@dataclass(frozen=True)
class RateDecision:
    """Whether a request's events fit the budget, and what the headers say."""

    allowed: bool
    limit: int
    remaining: int
    reset_seconds: int

    def headers(self) -> dict[str, str]:
        headers = {
            "RateLimit-Limit": str(self.limit),
            "RateLimit-Remaining": str(self.remaining),
            "RateLimit-Reset": str(self.reset_seconds),
        }
        if not self.allowed:
            headers["Retry-After"] = str(self.reset_seconds)
        return headers


class _Window:
    def __init__(self, seconds: int) -> None:
        self.seconds = seconds
        self.started = 0.0
        self.count = 0

    def roll(self, now: float) -> None:
        start = now - (now % self.seconds)
        if start != self.started:
            self.started = start
            self.count = 0

    def reset_in(self, now: float) -> int:
        return max(1, math.ceil(self.started + self.seconds - now))


class RateLimiter:
    """Fixed windows per workspace; events, not requests, are counted."""

    def __init__(self) -> None:
        self._windows: dict[str, tuple[_Window, _Window]] = {}
        self._lock = threading.Lock()

    def take(
        self, workspace_id: str, events: int, per_minute: int, per_day: int
    ) -> RateDecision:
        """Spend ``events`` from both windows, or neither when either is short."""
        now = time.time()
        with self._lock:
            minute, day = self._windows.setdefault(
                workspace_id, (_Window(60), _Window(86400))
            )
            minute.roll(now)
            day.roll(now)

            fits_minute = minute.count + events <= per_minute
            fits_day = day.count + events <= per_day
            if fits_minute and fits_day:
                minute.count += events
                day.count += events

            tight = (
                minute if (per_minute - minute.count) <= (per_day - day.count) else day
            )
            limit = per_minute if tight is minute else per_day
            return RateDecision(
                allowed=fits_minute and fits_day,
                limit=limit,
                remaining=max(0, limit - tight.count),
                reset_seconds=tight.reset_in(now),
            )
