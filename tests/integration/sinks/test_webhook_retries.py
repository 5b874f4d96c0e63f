"""Webhook retries through the retry topic, endpoint isolation and health."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import time
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import psycopg
import pytest
from aiohttp import web
from confluent_kafka import Producer
from standardwebhooks import Webhook

from schemas import codec
from schemas.topics import WEBHOOKS
from schemas.workspace import new_webhook_secret, new_workspace, publish_workspace
from sinks.settings import SinkSettings
from sinks.webhooks.admin import list_deliveries, redeliver
from sinks.webhooks.endpoints import EndpointHealth
from sinks.webhooks.worker import run
from tests.integration.sinks.conftest import WorkerThread

pytestmark = pytest.mark.asyncio(loop_scope="session")

PAYLOAD = '{"type": "signal.qualified", "name": "Zo\u00eb"}'


@dataclass
class Hook:
    """One receiver endpoint: what it got, and how it answers."""

    secret: str = field(default_factory=new_webhook_secret)
    delay_s: float = 0.0
    received: list[tuple[float, str, bool]] = field(default_factory=list)
    concurrent: int = 0
    max_concurrent: int = 0
    release: asyncio.Event = field(default_factory=asyncio.Event)

    async def handle(self, request: web.Request) -> web.Response:
        self.concurrent += 1
        self.max_concurrent = max(self.max_concurrent, self.concurrent)
        try:
            if self.delay_s:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self.release.wait(), self.delay_s)
            body = await request.read()
            Webhook(self.secret).verify(body, dict(request.headers))
            verified = True
        except Exception:
            verified = False
        finally:
            self.concurrent -= 1
        webhook_id = str(request.headers.get("webhook-id"))
        self.received.append((time.monotonic(), webhook_id, verified))
        return web.Response(status=200)


@dataclass
class Server:
    """An aiohttp server on a fixed loopback port that can start late."""

    port: int
    hooks: dict[str, Hook] = field(default_factory=dict)
    runner: web.AppRunner | None = None

    def url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.port}/hooks/{name}"

    def add(self, name: str, hook: Hook) -> Hook:
        self.hooks[name] = hook
        return hook

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/hooks/{name}", self._route)
        self.runner = web.AppRunner(app, shutdown_timeout=1)
        await self.runner.setup()
        await web.TCPSite(self.runner, "127.0.0.1", self.port).start()

    async def _route(self, request: web.Request) -> web.Response:
        return await self.hooks[request.match_info["name"]].handle(request)


@pytest.fixture
async def server() -> AsyncIterator[Server]:
    """A receiver whose port is reserved now; the test decides when it listens."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = int(probe.getsockname()[1])
    found = Server(port)
    yield found
    for hook in found.hooks.values():
        hook.release.set()
    if found.runner is not None:
        await found.runner.cleanup()


def _workspace(settings: SinkSettings, url: str, hook: Hook) -> str:
    config, _ = new_workspace(f"retry-test-{uuid.uuid4().hex[:8]}")
    config["webhook"] = {"url": url, "secrets": [hook.secret], "enabled": True}
    publish_workspace(settings.kafka_bootstrap_servers, settings.topic_prefix, config)
    return str(config["workspace_id"])


def _send(settings: SinkSettings, workspace_ids: list[str]) -> list[str]:
    """Produce one webhook per workspace id, all to partition 0 in this order."""
    producer = Producer({"bootstrap.servers": settings.kafka_bootstrap_servers})
    ids = []
    for workspace_id in workspace_ids:
        webhook_id = f"msg_{uuid.uuid4().hex}"
        value = {
            "webhook_id": webhook_id,
            "workspace_id": workspace_id,
            "capture_id": str(uuid.uuid4()),
            "event_type": "signal.qualified",
            "created_at": datetime.now(UTC),
            "payload_json": PAYLOAD,
        }
        producer.produce(
            WEBHOOKS.name(settings.topic_prefix),
            key=workspace_id.encode(),
            value=codec.encode("webhook", value),
            partition=0,
        )
        ids.append(webhook_id)
    assert producer.flush(30) == 0
    return ids


def _attempts(database_url: str, webhook_id: str) -> list[tuple[object, ...]]:
    with psycopg.connect(database_url) as conn:
        return conn.execute(
            "SELECT attempt, delivered FROM webhook_deliveries"
            " WHERE webhook_id = %s ORDER BY attempt",
            (webhook_id,),
        ).fetchall()


async def _until(check: Callable[[], bool], what: str) -> None:
    """Poll without blocking the loop the receivers run on."""
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if await asyncio.to_thread(check):
            return
        await asyncio.sleep(0.2)
    pytest.fail(f"timed out waiting for {what}")


async def test_receiver_down_for_three_attempts_gets_exactly_one_delivery(
    sink_settings: SinkSettings, server: Server, running: list[WorkerThread]
) -> None:
    """Three refused connections, then one verified delivery and no repeat."""
    settings = sink_settings.model_copy(
        update={
            "webhook_max_attempts": 8,
            "webhook_backoff_base_s": 0.4,
            "webhook_backoff_cap_s": 2.0,
        }
    )
    hook = server.add("down", Hook())
    workspace_id = await asyncio.to_thread(
        _workspace, settings, server.url("down"), hook
    )
    [webhook_id] = await asyncio.to_thread(_send, settings, [workspace_id])
    worker = WorkerThread(run, settings).start()
    running.append(worker)

    db = settings.database_url
    await _until(lambda: len(_attempts(db, webhook_id)) >= 3, "three failed attempts")
    await server.start()
    await _until(lambda: (True,) in [r[1:] for r in _attempts(db, webhook_id)], "ok")
    await asyncio.to_thread(worker.join)

    log = _attempts(db, webhook_id)
    assert [verified for _, _, verified in hook.received] == [True]
    assert hook.received[0][1] == webhook_id
    assert [delivered for _, delivered in log] == [False] * (len(log) - 1) + [True]
    assert [attempt for attempt, _ in log] == list(range(1, len(log) + 1))
    assert len(log) >= 4


async def test_slow_endpoint_does_not_delay_another_workspace(
    sink_settings: SinkSettings, server: Server, running: list[WorkerThread]
) -> None:
    """A receiver sleeping past the timeout holds its own slots, not the partition."""
    settings = sink_settings.model_copy(
        update={
            "webhook_timeout_s": 3.0,
            "webhook_concurrency_per_endpoint": 2,
            "webhook_max_attempts": 1,
            "shutdown_grace_s": 0.5,
        }
    )
    slow = server.add("slow", Hook(delay_s=30))
    fast = server.add("fast", Hook())
    await server.start()
    slow_ws = await asyncio.to_thread(_workspace, settings, server.url("slow"), slow)
    fast_ws = await asyncio.to_thread(_workspace, settings, server.url("fast"), fast)

    running.append(WorkerThread(run, settings).start())
    ids = await asyncio.to_thread(_send, settings, [slow_ws] * 6 + [fast_ws])
    await _until(lambda: len(fast.received) == 1, "the fast delivery")

    db = settings.database_url
    slow_done = sum(len(_attempts(db, i)) for i in ids[:6])
    assert fast.received[0][1:] == (ids[-1], True)
    assert slow_done == 0
    assert slow.concurrent == 2
    assert slow.max_concurrent <= 2


async def test_redeliver_sends_a_delivered_webhook_again(
    sink_settings: SinkSettings, server: Server, running: list[WorkerThread]
) -> None:
    """`deliveries redeliver ID` re-enqueues it; it arrives again as attempt 2."""
    hook = server.add("again", Hook())
    await server.start()
    workspace_id = await asyncio.to_thread(
        _workspace, sink_settings, server.url("again"), hook
    )
    [webhook_id] = await asyncio.to_thread(_send, sink_settings, [workspace_id])
    running.append(WorkerThread(run, sink_settings).start())
    await _until(lambda: len(hook.received) == 1, "first delivery")

    db = sink_settings.database_url
    done = await asyncio.to_thread(redeliver, sink_settings, workspace_id, [webhook_id])
    await _until(lambda: len(hook.received) == 2, "redelivery")
    await _until(lambda: len(_attempts(db, webhook_id)) == 2, "logged")

    listed = list_deliveries(db, workspace_id, delivered=True)
    assert [(r.webhook_id, r.attempt) for r in done] == [(webhook_id, 2)]
    assert [r["attempt"] for r in listed] == [2, 1]
    assert {received[1] for received in hook.received} == {webhook_id}


async def test_endpoint_failing_for_days_is_disabled_with_a_reason(
    sink_settings: SinkSettings,
) -> None:
    """Failures spread past the window disable the endpoint; success never did."""
    health = EndpointHealth(sink_settings.database_url, disable_after_s=3 * 86400)
    workspace_id, url = f"ws-{uuid.uuid4().hex[:8]}", "https://hooks.example/x"
    start = datetime(2024, 5, 1, tzinfo=UTC)
    try:
        early = await health.failed(workspace_id, url, "HTTP 500", start)
        later = await health.failed(
            workspace_id, url, "HTTP 502", start + timedelta(days=3, seconds=1)
        )
        state = await health.state(workspace_id, url)
    finally:
        await health.close()

    assert early.disabled is False
    assert later.disabled is True
    assert state.disabled is True
    assert state.reason is not None
    assert "2024-05-01T00:00:00Z" in state.reason
    assert "HTTP 502" in state.reason
