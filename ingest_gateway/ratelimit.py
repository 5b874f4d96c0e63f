"""Per-workspace event budgets shared by every gateway replica.

Why leases on an ordered log rather than gossiped counters: replicas that only
publish what they admitted and subtract what the others reported can each spend
the whole remaining budget during one propagation delay, so two replicas hit by a
burst at the start of a minute admit up to twice the limit. Here no replica admits
an event without first holding a token, and tokens are handed out by a ledger that
every replica computes identically from the ``ratelimit.usage`` topic:

- a replica short of tokens publishes a *claim* ("at least m, up to n tokens of
  minute M and day D of workspace W, under limits L/min and L/day");
- every replica reads the topic (keyed by workspace, so one workspace's claims are
  totally ordered in one partition) and applies each claim in offset order,
  granting ``min(n, left)`` when ``left >= m``, else nothing. The limits travel in
  the claim, so a config change reaching replicas at different moments cannot make
  their ledgers disagree;
- the claiming replica adds the grant to its local lease and admits from the lease
  without any further round trip; it claims the next block before the lease runs
  dry, so the hot path waits on Kafka only when a burst outruns the prefetch, and
  never on a database;
- tokens left unused when the minute ends are published as a *release*, so they
  count against the day only if they were spent.

The bound: grants never exceed the limit, so the replicas together never admit
more than the limit (overshoot 0). They can admit less only by tokens leased to a
replica that receives no request before the minute ends: at most one block per
replica, a block being ``BLOCK_FRACTION`` of the minute limit (2%). With two
replicas that is at most 4% under the limit, and nothing when every replica keeps
receiving traffic. A replica that cannot reach the topic waits at most
``claim_timeout`` and answers 503 with Retry-After, never an unbudgeted 2xx.
"""

from __future__ import annotations

import asyncio
import math
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from ingest_gateway import metrics
from ingest_gateway.errors import BackPressureError

MINUTE = 60
DAY = 86_400
# Share of the minute limit leased per claim: small enough that tokens stranded on
# an idle replica stay a few percent of the limit, large enough that a busy
# workspace costs about fifty claims a minute whatever its traffic.
BLOCK_FRACTION = 1 / 50


@dataclass(frozen=True)
class RateDecision:
    """Whether a request's events fit the budget, and what the headers say."""

    allowed: bool
    limit: int
    remaining: int
    reset_seconds: int

    def headers(self) -> dict[str, str]:
        """The IETF RateLimit fields, plus Retry-After on a refusal."""
        headers = {
            "RateLimit-Limit": str(self.limit),
            "RateLimit-Remaining": str(self.remaining),
            "RateLimit-Reset": str(self.reset_seconds),
        }
        if not self.allowed:
            headers["Retry-After"] = str(self.reset_seconds)
        return headers


@dataclass
class _Books:
    minute: dict[int, int] = field(default_factory=dict)
    day: dict[int, int] = field(default_factory=dict)


class Ledger:
    """Tokens granted per workspace, minute and day: the same on every replica."""

    def __init__(self) -> None:
        self._books: dict[str, _Books] = {}

    def granted(self, workspace: str, minute: int, day: int) -> tuple[int, int]:
        """Tokens granted so far in a minute and in a day."""
        books = self._books.get(workspace)
        if books is None:
            return 0, 0
        return books.minute.get(minute, 0), books.day.get(day, 0)

    def apply(self, message: dict[str, Any]) -> int:
        """Apply one claim or release in log order; a claim's grant is returned."""
        books = self._books.setdefault(message["ws"], _Books())
        minute, day, amount = message["m"], message["d"], message["n"]
        if message["k"] == "release":
            books.day[day] = max(0, books.day.get(day, 0) - amount)
            return 0

        left = min(
            message["lm"] - books.minute.get(minute, 0),
            message["ld"] - books.day.get(day, 0),
        )
        grant = min(amount, left) if left >= message["least"] else 0
        if grant:
            books.minute[minute] = books.minute.get(minute, 0) + grant
            books.day[day] = books.day.get(day, 0) + grant
        self._prune(books, minute, day)
        return grant

    @staticmethod
    def _prune(books: _Books, minute: int, day: int) -> None:
        """Forget windows long past, so a long-running replica stays small."""
        for old in [m for m in books.minute if m < minute - 2]:
            del books.minute[old]
        for old in [d for d in books.day if d < day - 1]:
            del books.day[old]


class UsageLog(Protocol):
    """Where claims and releases are published; the Kafka one is ``usage_bus``."""

    def publish(self, workspace: str, message: dict[str, Any]) -> None:
        """Append a message; every replica's ``deliver`` later sees it in order."""


@dataclass
class _Lease:
    minute: int
    day: int
    tokens: int = 0
    pending: asyncio.Future[int] | None = None


class SharedRateLimiter:
    """Admits events from leased tokens; see the module docstring for the bound."""

    def __init__(
        self,
        claim_timeout: float = 5.0,
        clock: Callable[[], float] = time.time,
        replica_id: str | None = None,
    ) -> None:
        self.replica_id = replica_id or uuid.uuid4().hex
        self.ledger = Ledger()
        self._claim_timeout = claim_timeout
        self._clock = clock
        self._log: UsageLog | None = None
        self._leases: dict[str, _Lease] = {}
        self._claims: dict[str, tuple[str, asyncio.Future[int]]] = {}

    def attach(self, log: UsageLog) -> None:
        """Connect the log claims go to; until then every claim times out."""
        self._log = log

    async def take(
        self, workspace: str, events: int, per_minute: int, per_day: int
    ) -> RateDecision:
        """Spend ``events`` tokens, or refuse when the shared budget cannot cover it.

        Raises ``BackPressureError`` when the ledger does not answer in time.
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._claim_timeout
        while True:
            lease = self._lease(workspace)
            if lease.tokens >= events:
                lease.tokens -= events
                self._prefetch(workspace, lease, per_minute, per_day)
                return self._decision(True, workspace, lease, per_minute, per_day)

            if not self._may_fit(workspace, lease, events, per_minute, per_day):
                metrics.RATE_LIMITED.inc(events)
                return self._decision(False, workspace, lease, per_minute, per_day)

            claim = lease.pending
            if claim is None:
                need = events - lease.tokens
                want = max(need, _block(per_minute))
                claim = self._claim(workspace, lease, want, need, per_minute, per_day)
            await self._await_claim(claim, deadline - loop.time())

    def deliver(self, messages: list[dict[str, Any]]) -> None:
        """Apply messages read from the log; settles this replica's own claims."""
        for message in messages:
            grant = self.ledger.apply(message)
            if message["k"] != "claim" or message["r"] != self.replica_id:
                continue

            workspace, future = self._claims.pop(message["c"], ("", None))
            if future is None:
                continue
            lease = self._leases.get(workspace)
            if lease is not None and lease.minute == message["m"]:
                lease.tokens += grant
                lease.pending = None if lease.pending is future else lease.pending
            elif grant:
                self._publish_release(workspace, message["d"], message["m"], grant)
            if not future.done():
                future.set_result(grant)

    def _lease(self, workspace: str) -> _Lease:
        """This replica's lease for the current minute; a stale one is released."""
        now = self._clock()
        minute, day = int(now // MINUTE), int(now // DAY)
        lease = self._leases.get(workspace)
        if lease is None or lease.minute != minute:
            if lease is not None and lease.tokens:
                self._publish_release(workspace, lease.day, lease.minute, lease.tokens)
            lease = _Lease(minute, day)
            self._leases[workspace] = lease
        return lease

    def _may_fit(
        self, workspace: str, lease: _Lease, events: int, per_minute: int, per_day: int
    ) -> bool:
        """Whether the ledger as seen here leaves room; a lagging view says yes."""
        used_minute, used_day = self.ledger.granted(workspace, lease.minute, lease.day)
        left = min(per_minute - used_minute, per_day - used_day)
        return events <= min(per_minute, per_day) and lease.tokens + left >= events

    def _prefetch(
        self, workspace: str, lease: _Lease, per_minute: int, per_day: int
    ) -> None:
        """Claim the next block before the lease is empty, if any is left to claim."""
        block = _block(per_minute)
        if lease.pending is not None or lease.tokens * 2 >= block:
            return
        used_minute, used_day = self.ledger.granted(workspace, lease.minute, lease.day)
        if min(per_minute - used_minute, per_day - used_day) > 0:
            self._claim(workspace, lease, block, 1, per_minute, per_day)

    def _claim(
        self,
        workspace: str,
        lease: _Lease,
        want: int,
        least: int,
        per_minute: int,
        per_day: int,
    ) -> asyncio.Future[int]:
        claim_id = uuid.uuid4().hex
        future: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        self._claims[claim_id] = (workspace, future)
        lease.pending = future
        message = {
            "k": "claim",
            "ws": workspace,
            "r": self.replica_id,
            "c": claim_id,
            "m": lease.minute,
            "d": lease.day,
            "n": want,
            "least": least,
            "lm": per_minute,
            "ld": per_day,
        }
        try:
            self._require_log().publish(workspace, message)
        except BackPressureError:
            self._claims.pop(claim_id, None)
            lease.pending = None
            raise
        return future

    async def _await_claim(self, claim: asyncio.Future[int], within: float) -> None:
        if within > 0:
            try:
                await asyncio.wait_for(asyncio.shield(claim), within)
                return
            except TimeoutError:
                pass
        self._abandon(claim)
        raise BackPressureError("the rate limit ledger did not answer in time", 1)

    def _abandon(self, claim: asyncio.Future[int]) -> None:
        """Let a later request claim again; a late grant still lands in the lease."""
        for lease in self._leases.values():
            if lease.pending is claim:
                lease.pending = None

    def _publish_release(
        self, workspace: str, day: int, minute: int, tokens: int
    ) -> None:
        message = {"k": "release", "ws": workspace, "m": minute, "d": day, "n": tokens}
        try:
            self._require_log().publish(workspace, message)
        except BackPressureError:
            # The day count keeps these unspent tokens; that errs on refusing.
            metrics.DELIVERY_FAILURES.labels("ratelimit").inc()

    def _require_log(self) -> UsageLog:
        if self._log is None:
            raise BackPressureError("the rate limit ledger is not connected", 1)
        return self._log

    def _decision(
        self,
        allowed: bool,
        workspace: str,
        lease: _Lease,
        per_minute: int,
        per_day: int,
    ) -> RateDecision:
        now = self._clock()
        used_minute, used_day = self.ledger.granted(workspace, lease.minute, lease.day)
        left_minute = max(0, per_minute - used_minute) + lease.tokens
        left_day = max(0, per_day - used_day) + lease.tokens
        if left_minute <= left_day:
            reset = math.ceil((lease.minute + 1) * MINUTE - now)
            return RateDecision(allowed, per_minute, left_minute, max(1, reset))
        reset = math.ceil((lease.day + 1) * DAY - now)
        return RateDecision(allowed, per_day, left_day, max(1, reset))


def _block(per_minute: int) -> int:
    return max(1, math.ceil(per_minute * BLOCK_FRACTION))
