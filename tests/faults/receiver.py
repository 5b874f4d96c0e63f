"""A loopback webhook receiver whose behaviour a scenario switches at will.

Each workspace posts to ``/hooks/<tag>``; the tag's mode decides the answer:
``ok`` (200), ``fail`` (500), ``busy`` (503, every tenth with Retry-After) or
``hang`` (holds the request past the sender's timeout, then 504). A request
whose Standard Webhooks signature does not verify with the tag's secret is
answered 401. Only 200 answers count as delivered.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections import defaultdict
from dataclasses import dataclass, field

from aiohttp import web
from standardwebhooks import Webhook, WebhookVerificationError

HANG_S = 3.0
BUSY_RETRY_AFTER_S = 2


@dataclass
class Hit:
    """One request as received: its webhook id, capture id and our answer."""

    webhook_id: str
    capture_id: str
    status: int
    at: float


@dataclass
class FaultReceiver:
    """Records every request per tag; ``modes`` says how each tag answers."""

    port: int = 0
    modes: dict[str, str] = field(default_factory=dict)
    secrets: dict[str, str] = field(default_factory=dict)
    hits: dict[str, list[Hit]] = field(default_factory=lambda: defaultdict(list))
    in_flight: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    peak_in_flight: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    _loop: asyncio.AbstractEventLoop | None = None
    _thread: threading.Thread | None = None

    def url(self, tag: str) -> str:
        """Where a workspace named ``tag`` delivers."""
        return f"http://127.0.0.1:{self.port}/hooks/{tag}"

    def delivered(self, tag: str) -> dict[str, set[str]]:
        """Capture id to the distinct webhook ids answered 200 (receiver dedupe)."""
        seen: dict[str, set[str]] = defaultdict(set)
        for hit in list(self.hits[tag]):
            if hit.status == 200:
                seen[hit.capture_id].add(hit.webhook_id)
        return seen

    def attempts(self, tag: str) -> int:
        """Every request received for ``tag``, whatever it was answered."""
        return len(self.hits[tag])

    async def _handle(self, request: web.Request) -> web.Response:
        tag = request.match_info["tag"]
        body = await request.read()
        mode = self.modes.get(tag, "ok")
        capture_id = str(json.loads(body)["data"]["signal_capture_id"])
        webhook_id = request.headers.get("webhook-id", "")

        self.in_flight[tag] += 1
        self.peak_in_flight[tag] = max(self.peak_in_flight[tag], self.in_flight[tag])
        try:
            if self._verifies(tag, body, request):
                status, headers = await self._answer(tag, mode)
            else:
                status, headers = 401, {}
        finally:
            self.in_flight[tag] -= 1
        self.hits[tag].append(Hit(webhook_id, capture_id, status, time.monotonic()))
        return web.Response(status=status, headers=headers)

    def _verifies(self, tag: str, body: bytes, request: web.Request) -> bool:
        try:
            Webhook(self.secrets[tag]).verify(body, dict(request.headers))
        except (KeyError, WebhookVerificationError):
            return False
        return True

    async def _answer(self, tag: str, mode: str) -> tuple[int, dict[str, str]]:
        if mode == "hang":
            await asyncio.sleep(HANG_S)
            return 504, {}
        if mode == "busy":
            every_tenth = len(self.hits[tag]) % 10 == 0
            return 503, {"Retry-After": str(BUSY_RETRY_AFTER_S)} if every_tenth else {}
        return (500 if mode == "fail" else 200), {}

    def start(self) -> None:
        """Serve on a thread of its own until ``stop``."""
        ready = threading.Event()

        def serve() -> None:
            loop = asyncio.new_event_loop()
            self._loop = loop
            app = web.Application()
            app.router.add_post("/hooks/{tag}", self._handle)
            runner = web.AppRunner(app)
            loop.run_until_complete(runner.setup())
            site = web.TCPSite(runner, "127.0.0.1", 0)
            loop.run_until_complete(site.start())
            server = site._server
            assert isinstance(server, asyncio.Server)
            self.port = server.sockets[0].getsockname()[1]
            ready.set()
            loop.run_forever()
            loop.run_until_complete(runner.cleanup())
            loop.close()

        self._thread = threading.Thread(target=serve, daemon=True)
        self._thread.start()
        ready.wait(10)

    def stop(self) -> None:
        """Stop serving and join the thread; a second call does nothing."""
        loop, self._loop = self._loop, None
        if loop is not None and not loop.is_closed():
            loop.call_soon_threadsafe(loop.stop)
        if self._thread is not None:
            self._thread.join(10)
