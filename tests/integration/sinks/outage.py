"""A loopback webhook receiver that plays an outage and keeps a timed record.

Field case B29 is judged from the receiver's side: what arrived, when, how many
at once, and what each request was answered. Everything here is measured on
this process's monotonic clock, the same one the test stamps its sends with.
"""

from __future__ import annotations

import asyncio
import time
from collections import defaultdict
from dataclasses import dataclass, field

from aiohttp import web


@dataclass(frozen=True)
class Hit:
    """One request as the receiver saw it, and the answer it got."""

    webhook_id: str
    arrived: float
    answered: float
    status: int
    retry_after_s: int | None


@dataclass
class Endpoint:
    """One receiver path: answers 503 until ``down_until``, then 200.

    Every ``retry_after_every``-th refusal carries ``Retry-After``; the service
    time keeps requests open long enough for a concurrency cap to be visible.
    """

    service_s: float = 0.0
    retry_after_s: int = 2
    retry_after_every: int = 10
    down_until: float = 0.0
    hits: list[Hit] = field(default_factory=list)
    concurrent: int = 0
    max_concurrent: int = 0
    refusals: int = 0

    async def handle(self, request: web.Request) -> web.Response:
        """Answer by the script and note the request."""
        arrived = time.monotonic()
        self.concurrent += 1
        self.max_concurrent = max(self.max_concurrent, self.concurrent)
        try:
            await request.read()
            if self.service_s:
                await asyncio.sleep(self.service_s)
            status, retry_after = self._answer(arrived)
        finally:
            self.concurrent -= 1

        webhook_id = str(request.headers.get("webhook-id"))
        hit = Hit(webhook_id, arrived, time.monotonic(), status, retry_after)
        self.hits.append(hit)
        headers = {} if retry_after is None else {"Retry-After": str(retry_after)}
        return web.Response(status=status, headers=headers)

    def _answer(self, arrived: float) -> tuple[int, int | None]:
        if arrived >= self.down_until:
            return 200, None
        self.refusals += 1
        if self.refusals % self.retry_after_every == 0:
            return 503, self.retry_after_s
        return 503, None

    def by_id(self) -> dict[str, list[Hit]]:
        """Every id's requests, in the order they arrived."""
        found: defaultdict[str, list[Hit]] = defaultdict(list)
        for hit in self.hits:
            found[hit.webhook_id].append(hit)
        return dict(found)

    def delivered(self) -> dict[str, int]:
        """How many times each id was answered 200 (more than once is a repeat)."""
        found: defaultdict[str, int] = defaultdict(int)
        for hit in self.hits:
            if hit.status == 200:
                found[hit.webhook_id] += 1
        return dict(found)


@dataclass
class OutageReceiver:
    """An aiohttp server on loopback with named endpoints under ``/hooks/``."""

    endpoints: dict[str, Endpoint] = field(default_factory=dict)
    port: int = 0
    _runner: web.AppRunner | None = None

    def url(self, name: str) -> str:
        """The webhook URL of one endpoint."""
        return f"http://127.0.0.1:{self.port}/hooks/{name}"

    async def start(self) -> None:
        """Listen on a free loopback port."""
        app = web.Application()
        app.router.add_post("/hooks/{name}", self._route)
        self._runner = web.AppRunner(app, shutdown_timeout=1, access_log=None)
        await self._runner.setup()

        await web.TCPSite(self._runner, "127.0.0.1", 0).start()
        self.port = int(self._runner.addresses[0][1])

    async def stop(self) -> None:
        """Stop listening."""
        if self._runner is not None:
            await self._runner.cleanup()

    async def _route(self, request: web.Request) -> web.Response:
        return await self.endpoints[request.match_info["name"]].handle(request)


def percentile(values: list[float], share: float) -> float:
    """The nearest-rank percentile; enough for a bound on a hundred samples."""
    ordered = sorted(values)
    rank = max(0, min(len(ordered) - 1, round(share * len(ordered)) - 1))
    return ordered[rank]


def peak_rate(times: list[float], window_s: float) -> float:
    """The most requests per second seen in any sliding window of ``window_s``."""
    ordered = sorted(times)
    best, start = 0, 0
    for end, moment in enumerate(ordered):
        while moment - ordered[start] > window_s:
            start += 1
        best = max(best, end - start + 1)
    return best / window_s
