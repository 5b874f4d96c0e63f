"""The webhook sink delivering to a real local receiver, with the real Kafka."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import pytest
from aiohttp import web
from standardwebhooks import Webhook, WebhookVerificationError

from schemas import codec
from schemas.topics import WEBHOOKS, WEBHOOKS_DLQ
from schemas.workspace import new_webhook_secret, new_workspace, publish_workspace
from sinks.settings import SinkSettings
from sinks.webhooks.endpoints import EndpointHealth
from sinks.webhooks.worker import run
from tests.integration.sinks.conftest import (
    WorkerThread,
    committed,
    produce,
    read_all,
)

# The receiver fixture lives on the session loop, so the tests must run there too.
pytestmark = pytest.mark.asyncio(loop_scope="session")

# B27: text a re-encoding client would change, sent and signed as exact bytes.
PAYLOAD = json.dumps(
    {
        "type": "signal.qualified",
        "last_name": "Zo\u00eb",
        "title": "Head of Growth \u2028 EMEA",
        "note": "\u001b[34mblue\u001b[0m \u2665",
        "ratio": 1.0,
        "emoji": "\U0001f600",
        "html": "<b>&</b>",
    },
    ensure_ascii=False,
)


@dataclass
class Receiver:
    """A webhook receiver that verifies every attempt over its raw body."""

    secrets: list[str]
    statuses: list[int]
    url: str = ""
    attempts: list[dict[str, object]] = field(default_factory=list)

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        verified = []
        for secret in self.secrets:
            try:
                Webhook(secret).verify(body, dict(request.headers))
            except WebhookVerificationError:
                verified.append(False)
            else:
                verified.append(True)
        self.attempts.append(
            {
                "verified": verified,
                "id": request.headers.get("webhook-id"),
                "content_type": request.headers.get("Content-Type"),
                "body": body,
            }
        )
        index = min(len(self.attempts), len(self.statuses)) - 1
        return web.Response(status=self.statuses[index])


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    """A receiver on 127.0.0.1 that fails the first attempt with 500."""
    hook = Receiver([new_webhook_secret(), new_webhook_secret()], [500, 200])
    app = web.Application()
    app.router.add_post("/hooks/raw-verify", hook.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    hook.url = f"http://127.0.0.1:{port}/hooks/raw-verify"
    yield hook
    await runner.cleanup()


def _register(settings: SinkSettings, hook: Receiver) -> str:
    config, _ = new_workspace(f"sink-test-{uuid.uuid4().hex[:8]}")
    config["webhook"] = {"url": hook.url, "secrets": hook.secrets, "enabled": True}
    publish_workspace(settings.kafka_bootstrap_servers, settings.topic_prefix, config)
    return str(config["workspace_id"])


def _send(settings: SinkSettings, workspace_id: str) -> str:
    webhook_id = f"msg_{uuid.uuid4().hex}"
    value = {
        "webhook_id": webhook_id,
        "workspace_id": workspace_id,
        "capture_id": str(uuid.uuid4()),
        "event_type": "signal.qualified",
        "created_at": datetime.now(UTC),
        "payload_json": PAYLOAD,
    }
    produce(
        settings.kafka_bootstrap_servers,
        WEBHOOKS.name(settings.topic_prefix),
        [(workspace_id.encode(), codec.encode("webhook", value))],
    )
    return webhook_id


def _deliveries(database_url: str, webhook_id: str) -> list[tuple[object, ...]]:
    with psycopg.connect(database_url) as conn:
        return conn.execute(
            "SELECT attempt, status_code, delivered FROM webhook_deliveries"
            " WHERE webhook_id = %s ORDER BY attempt",
            (webhook_id,),
        ).fetchall()


async def _first_dead_letter(settings: SinkSettings, within_s: float) -> Any:
    """The first letter on the webhook dead-letter topic, decoded."""
    letters = await asyncio.to_thread(
        read_all,
        settings.kafka_bootstrap_servers,
        WEBHOOKS_DLQ.name(settings.topic_prefix),
        1,
        within_s,
    )
    assert letters, "no dead letter came"
    return codec.decode("dead_letter", letters[0].value())


async def _until(check: Callable[[], bool], what: str) -> None:
    """Poll for a minute without blocking the loop the receiver runs on."""
    for _ in range(300):
        if check():
            return
        await asyncio.sleep(0.2)
    pytest.fail(f"timed out waiting for {what}")


async def test_retry_after_500_verifies_and_logs_one_success(
    sink_settings: SinkSettings, receiver: Receiver, running: list[WorkerThread]
) -> None:
    """B27: both attempts verify with both secrets; one success is logged."""
    workspace_id = await asyncio.to_thread(_register, sink_settings, receiver)
    webhook_id = await asyncio.to_thread(_send, sink_settings, workspace_id)

    worker = WorkerThread(run, sink_settings).start()
    running.append(worker)
    await _until(lambda: len(receiver.attempts) >= 2, "two attempts")
    db = sink_settings.database_url
    await _until(lambda: len(_deliveries(db, webhook_id)) == 2, "delivery log")
    await asyncio.to_thread(worker.join)

    assert [a["verified"] for a in receiver.attempts] == [[True, True], [True, True]]
    assert {a["id"] for a in receiver.attempts} == {webhook_id}
    assert {a["body"] for a in receiver.attempts} == {PAYLOAD.encode("utf-8")}
    assert receiver.attempts[0]["content_type"] == "application/json; charset=utf-8"
    assert _deliveries(db, webhook_id) == [(1, 500, False), (2, 200, True)]
    topic = WEBHOOKS.name(sink_settings.topic_prefix)
    assert (
        committed(
            sink_settings.kafka_bootstrap_servers,
            sink_settings.webhooks_group,
            topic,
            6,
        )
        == 1
    )


async def test_loopback_refused_by_default_goes_to_dead_letters(
    sink_settings: SinkSettings, receiver: Receiver, running: list[WorkerThread]
) -> None:
    """Without the loopback setting the receiver is never called and the reason kept."""
    strict = sink_settings.model_copy(update={"webhook_allow_loopback": False})
    workspace_id = await asyncio.to_thread(_register, strict, receiver)
    webhook_id = await asyncio.to_thread(_send, strict, workspace_id)

    running.append(WorkerThread(run, strict).start())
    letter = await _first_dead_letter(strict, 60)

    assert "loopback address" in letter["reason"]
    assert letter["workspace_id"] == workspace_id
    assert codec.decode("webhook", letter["value"])["webhook_id"] == webhook_id
    assert receiver.attempts == []


async def test_last_failed_attempt_goes_to_dead_letters_with_its_history(
    sink_settings: SinkSettings, receiver: Receiver, running: list[WorkerThread]
) -> None:
    """A receiver failing every attempt: max attempts logged, then one dead letter."""
    failing = sink_settings.model_copy(
        update={
            "webhook_max_attempts": 3,
            "webhook_backoff_base_s": 0.2,
            "webhook_backoff_cap_s": 0.5,
        }
    )
    receiver.statuses = [503]
    workspace_id = await asyncio.to_thread(_register, failing, receiver)
    webhook_id = await asyncio.to_thread(_send, failing, workspace_id)

    running.append(WorkerThread(run, failing).start())
    letter = await _first_dead_letter(failing, 90)
    db = failing.database_url
    await _until(lambda: len(_deliveries(db, webhook_id)) == 3, "three attempts")

    assert letter["error_type"] == "DeliveryExhausted"
    assert "3 attempts" in letter["reason"]
    assert "503" in letter["reason"]
    assert letter["workspace_id"] == workspace_id
    assert codec.decode("webhook", letter["value"])["webhook_id"] == webhook_id
    assert _deliveries(db, webhook_id) == [(n, 503, False) for n in (1, 2, 3)]
    assert [a["id"] for a in receiver.attempts] == [webhook_id] * 3


async def test_a_disabled_endpoint_gets_nothing_and_its_webhooks_are_dead_letters(
    sink_settings: SinkSettings, receiver: Receiver, running: list[WorkerThread]
) -> None:
    """Once failing long enough to be disabled, the worker no longer calls it."""
    workspace_id = await asyncio.to_thread(_register, sink_settings, receiver)
    health = EndpointHealth(
        sink_settings.database_url, sink_settings.webhook_disable_after_s
    )
    first_failure = datetime.now(UTC) - timedelta(days=4)
    try:
        await health.failed(workspace_id, receiver.url, "HTTP 500", first_failure)
        disabled = await health.failed(
            workspace_id, receiver.url, "HTTP 502", datetime.now(UTC)
        )
    finally:
        await health.close()
    webhook_id = await asyncio.to_thread(_send, sink_settings, workspace_id)

    running.append(WorkerThread(run, sink_settings).start())
    letter = await _first_dead_letter(sink_settings, 60)

    assert disabled.disabled is True
    assert letter["error_type"] == "EndpointDisabled"
    assert codec.decode("webhook", letter["value"])["webhook_id"] == webhook_id
    assert receiver.attempts == []
