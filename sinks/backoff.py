"""Capped exponential backoff with full jitter, shared by both sinks.

Full jitter spreads the retries of many workers that failed together across the
whole window, so a recovering database or receiver is not hit in lockstep.
"""

from __future__ import annotations

import random


def backoff_ceiling(attempt: int, base: float, cap: float) -> float:
    """The longest wait before retry number ``attempt`` (1 for the first retry)."""
    exponent = min(max(attempt - 1, 0), 62)
    return float(min(cap, base * 2**exponent))


def full_jitter(
    attempt: int, base: float, cap: float, rng: random.Random | None = None
) -> float:
    """A random wait in ``[0, ceiling]`` before retry number ``attempt``."""
    ceiling = backoff_ceiling(attempt, base, cap)
    return (rng or random).uniform(0.0, ceiling)
