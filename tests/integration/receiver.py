"""A webhook receiver on loopback that records exactly what it was sent."""

from __future__ import annotations

import asyncio
import threading
from dataclasses import dataclass, field

from aiohttp import web


@dataclass
class Delivery:
    """One request as the receiver saw it, with the body's raw bytes."""

    headers: dict[str, str]
    body: bytes
    status: int


@dataclass
class WebhookReceiver:
    """Answers 500 to the first ``fail_first`` requests, then 200."""

    fail_first: int = 0
    deliveries: list[Delivery] = field(default_factory=list)
    port: int = 0
    _loop: asyncio.AbstractEventLoop | None = None
    _runner: web.AppRunner | None = None
    _thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks"

    def accepted(self) -> list[Delivery]:
        return [d for d in self.deliveries if d.status == 200]

    async def _handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        status = 500 if len(self.deliveries) < self.fail_first else 200
        self.deliveries.append(Delivery(dict(request.headers), body, status))
        return web.Response(status=status)

    def start(self) -> None:
        ready = threading.Event()

        def serve() -> None:
            loop = asyncio.new_event_loop()
            self._loop = loop
            app = web.Application()
            app.router.add_post("/hooks", self._handle)
            self._runner = web.AppRunner(app)
            loop.run_until_complete(self._runner.setup())
            site = web.TCPSite(self._runner, "127.0.0.1", 0)
            loop.run_until_complete(site.start())
            server = site._server
            assert server is not None
            self.port = server.sockets[0].getsockname()[1]
            ready.set()
            loop.run_forever()
            loop.run_until_complete(self._runner.cleanup())
            loop.close()

        self._thread = threading.Thread(target=serve, daemon=True)
        self._thread.start()
        ready.wait(10)

    def stop(self) -> None:
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)
        if self._thread is not None:
            self._thread.join(10)
