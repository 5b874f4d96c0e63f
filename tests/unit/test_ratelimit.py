"""The shared rate limiter's ledger and leases, over an in-process ordered log."""

from __future__ import annotations

import asyncio
from typing import Any

from ingest_gateway.ratelimit import Ledger, SharedRateLimiter

NOW = 1_800_000_000.0 - 1_800_000_000.0 % 60 + 5


class OrderedLog:
    """One totally ordered log every limiter reads, like one Kafka partition."""

    def __init__(self, readers: list[SharedRateLimiter]) -> None:
        self.readers = readers
        self.messages: list[dict[str, Any]] = []

    def publish(self, _workspace: str, message: dict[str, Any]) -> None:
        self.messages.append(message)
        loop = asyncio.get_running_loop()
        for reader in self.readers:
            loop.call_soon(reader.deliver, [message])


def replicas(count: int, clock: list[float]) -> list[SharedRateLimiter]:
    # A generous claim timeout: the log answers at once, and only a loaded machine
    # could make a tight bound fail.
    limiters = [SharedRateLimiter(30.0, clock=lambda: clock[0]) for _ in range(count)]
    log = OrderedLog(limiters)
    for limiter in limiters:
        limiter.attach(log)
    return limiters


def test_ledger_grants_partially_and_refuses_below_least() -> None:
    """A claim gets what is left when that covers its minimum, else nothing."""
    ledger = Ledger()
    claim = {"k": "claim", "ws": "w", "m": 1, "d": 0, "lm": 10, "ld": 100}

    grants = [
        ledger.apply({**claim, "n": 8, "least": 1}),
        ledger.apply({**claim, "n": 8, "least": 3}),
        ledger.apply({**claim, "n": 8, "least": 1}),
    ]

    assert grants == [8, 0, 2]


async def test_two_replicas_admit_exactly_the_limit() -> None:
    """Concurrent requests on two replicas never pass the shared minute limit."""
    first, second = replicas(2, [NOW])

    decisions = await asyncio.gather(
        *(limiter.take("w", 1, 200, 50_000) for limiter in [first, second] * 300)
    )

    assert sum(d.allowed for d in decisions) == 200
    refused = [d for d in decisions if not d.allowed]
    assert refused[0].headers()["Retry-After"] == "55"


async def test_unused_lease_is_released_to_the_day() -> None:
    """Tokens leased but unspent when the minute ends do not count for the day."""
    clock = [NOW]
    (limiter,) = replicas(1, clock)

    await limiter.take("w", 1, 500, 1_000)
    clock[0] += 60
    await limiter.take("w", 1, 500, 1_000)
    await asyncio.sleep(0)

    _, day_used = limiter.ledger.granted("w", int(clock[0] // 60), int(NOW // 86400))
    spent_then, leased_now = 1, 10
    assert spent_then + leased_now == day_used


async def test_batch_larger_than_the_limit_is_refused() -> None:
    """A batch that could never fit is refused at once, without a claim."""
    (limiter,) = replicas(1, [NOW])

    decision = await limiter.take("w", 501, 500, 50_000)

    assert not decision.allowed
