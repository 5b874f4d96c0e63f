"""Field case B29: one endpoint down with 503s for a while, another one healthy.

The field report had 5,000 records, a 5-minute outage with ``Retry-After: 60``
on some refusals, and 100 records for a healthy subscription meanwhile. Scaled
here to fit CI (30 to 50 s on two busy cores): 1,000 records, a 15 s outage, every
10th refusal carrying ``Retry-After: 2``, backoff base 0.5 s and cap 4 s, at
most 4 requests at once per endpoint, 100 healthy records at 10 a second. The
receiver answers after 10 ms, so a broken concurrency cap would show up.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from itertools import pairwise
from pathlib import Path

import pytest
from confluent_kafka import Producer

from schemas import codec
from schemas.topics import WEBHOOKS
from schemas.workspace import new_webhook_secret, new_workspace, publish_workspace
from sinks.records.migrate import migrate
from tests.integration.sinks.outage import (
    Endpoint,
    Hit,
    OutageReceiver,
    peak_rate,
    percentile,
)
from tests.integration.sinks.worker_process import WebhookWorkerProcess

pytestmark = pytest.mark.asyncio(loop_scope="session")

FLAKY_RECORDS = 1000
HEALTHY_RECORDS = 100
HEALTHY_PER_S = 10.0
OUTAGE_S = 15.0
RETRY_AFTER_S = 2
BACKOFF_BASE_S = 0.5
BACKOFF_CAP_S = 4.0
CONCURRENCY = 4
SERVICE_S = 0.01
# Every record must be in by then: the longest backoff after recovery, plus
# room for a slow CI machine to work off the queue at CONCURRENCY at a time.
RETRY_WINDOW_S = 25.0
HEALTHY_P95_BOUND_S = 2.0
# Long enough after the last delivery for a stray repeat to show up.
LINGER_S = 1.5
STARTUP_S = 90.0

PAYLOAD = '{"type": "signal.qualified", "record": "b29"}'


@pytest.fixture
async def receiver() -> AsyncIterator[OutageReceiver]:
    """The flaky and the healthy endpoint on one loopback server."""
    server = OutageReceiver(
        {"flaky": Endpoint(service_s=SERVICE_S), "healthy": Endpoint()}
    )
    await server.start()
    yield server
    await server.stop()


def _publish(bootstrap: str, prefix: str, url: str) -> str:
    config, _ = new_workspace(f"b29-{uuid.uuid4().hex[:8]}")
    config["webhook"] = {"url": url, "secrets": [new_webhook_secret()], "enabled": True}
    publish_workspace(bootstrap, prefix, config)
    return str(config["workspace_id"])


def _webhook(workspace_id: str) -> tuple[str, bytes]:
    webhook_id = f"msg_{uuid.uuid4().hex}"
    value = {
        "webhook_id": webhook_id,
        "workspace_id": workspace_id,
        "capture_id": str(uuid.uuid4()),
        "event_type": "signal.qualified",
        "created_at": datetime.now(UTC),
        "payload_json": PAYLOAD,
    }
    return webhook_id, codec.encode("webhook", value)


class Sender:
    """Produces webhooks straight to ``webhooks``, stamping each send."""

    def __init__(self, bootstrap: str, prefix: str) -> None:
        self._topic = WEBHOOKS.name(prefix)
        self._producer = Producer({"bootstrap.servers": bootstrap, "acks": "all"})
        self.sent_at: dict[str, float] = {}

    def burst(self, workspace_id: str, count: int) -> list[str]:
        """``count`` webhooks as fast as the producer takes them."""
        ids = [self._send(workspace_id) for _ in range(count)]
        assert self._producer.flush(30) == 0
        return ids

    def paced(self, workspace_id: str, count: int, per_s: float) -> list[str]:
        """``count`` webhooks spread evenly over ``count / per_s`` seconds."""
        start, ids = time.monotonic(), []
        for n in range(count):
            time.sleep(max(0.0, start + n / per_s - time.monotonic()))
            ids.append(self._send(workspace_id))
            self._producer.flush(5)
        assert self._producer.flush(30) == 0
        return ids

    def close(self) -> None:
        """Let go of the producer, so it stops reconnecting after the session."""
        self._producer.close()

    def _send(self, workspace_id: str) -> str:
        webhook_id, value = _webhook(workspace_id)
        self.sent_at[webhook_id] = time.monotonic()
        self._producer.produce(self._topic, key=workspace_id.encode(), value=value)
        self._producer.poll(0)
        return webhook_id


def _worker_env(
    bootstrap: str, database_url: str, prefix: str, group: str
) -> dict[str, str]:
    return {
        "KAFKA_BOOTSTRAP_SERVERS": bootstrap,
        "DATABASE_URL": database_url,
        "UNSTUCK_TOPIC_PREFIX": prefix,
        "UNSTUCK_WEBHOOKS_SINK_GROUP": group,
        "UNSTUCK_WEBHOOK_ALLOW_LOOPBACK": "true",
        "UNSTUCK_WEBHOOK_CONCURRENCY_PER_ENDPOINT": str(CONCURRENCY),
        "UNSTUCK_WEBHOOK_BACKOFF_BASE_S": str(BACKOFF_BASE_S),
        "UNSTUCK_WEBHOOK_BACKOFF_CAP_S": str(BACKOFF_CAP_S),
        "UNSTUCK_WEBHOOK_MAX_ATTEMPTS": "25",
        "UNSTUCK_WEBHOOK_TIMEOUT_S": "5",
        "UNSTUCK_SINK_SHUTDOWN_GRACE_S": "2",
        "UNSTUCK_LOG_LEVEL": "WARNING",
    }


async def _until(
    check: Callable[[], bool], deadline: float, what: str, worker: WebhookWorkerProcess
) -> None:
    """Poll on the receivers' loop until ``check`` holds or the deadline passes."""
    while time.monotonic() < deadline:
        if check():
            return
        if not worker.alive():
            pytest.fail(f"webhook worker died:\n{worker.log_tail()}")
        await asyncio.sleep(0.1)
    pytest.fail(f"timed out waiting for {what}")


def _after_retry_after(by_id: dict[str, list[Hit]]) -> list[tuple[str, float, int]]:
    """(id, gap, asked) for each request that followed a Retry-After answer."""
    found = []
    for webhook_id, hits in by_id.items():
        for before, after in pairwise(hits):
            if before.retry_after_s is not None:
                gap = after.arrived - before.answered
                found.append((webhook_id, round(gap, 3), before.retry_after_s))
    return found


async def test_outage_is_retried_politely_and_spares_the_healthy_endpoint(
    kafka_bootstrap: str,
    database_url: str,
    topic_prefix: str,
    unique_name: Callable[[str], str],
    receiver: OutageReceiver,
    tmp_path: Path,
) -> None:
    """Each id arrives once, Retry-After and the cap hold, healthy p95 stays low."""
    flaky, healthy = receiver.endpoints["flaky"], receiver.endpoints["healthy"]
    await asyncio.to_thread(migrate, database_url)
    flaky_ws, healthy_ws = [
        await asyncio.to_thread(
            _publish, kafka_bootstrap, topic_prefix, receiver.url(name)
        )
        for name in ("flaky", "healthy")
    ]
    sender = Sender(kafka_bootstrap, topic_prefix)
    env = _worker_env(
        kafka_bootstrap, database_url, topic_prefix, unique_name("b29-webhooks")
    )
    worker = WebhookWorkerProcess(env, tmp_path / "sink-webhooks.log")

    try:
        [warm_up] = await asyncio.to_thread(sender.burst, healthy_ws, 1)
        ready_by = time.monotonic() + STARTUP_S
        await _until(lambda: warm_up in healthy.delivered(), ready_by, "ready", worker)

        flaky.down_until = time.monotonic() + OUTAGE_S
        flaky_ids = await asyncio.to_thread(sender.burst, flaky_ws, FLAKY_RECORDS)
        healthy_ids = await asyncio.to_thread(
            sender.paced, healthy_ws, HEALTHY_RECORDS, HEALTHY_PER_S
        )
        window_ends = flaky.down_until + RETRY_WINDOW_S
        everything = {*flaky_ids, *healthy_ids, warm_up}

        def all_in() -> bool:
            got = flaky.delivered().keys() | healthy.delivered().keys()
            return got >= everything

        await _until(all_in, window_ends, "every delivery", worker)
        finished = time.monotonic()
        await asyncio.sleep(LINGER_S)
    finally:
        exit_status = await asyncio.to_thread(worker.stop)
        sender.close()

    flaky_by_id = flaky.by_id()
    first_arrival = {i: hits[0].arrived for i, hits in healthy.by_id().items()}
    latencies = [first_arrival[i] - sender.sent_at[i] for i in healthy_ids]
    recovery = [h.arrived for h in flaky.hits if h.arrived >= flaky.down_until]
    refusals = [h for h in flaky.hits if h.status == 503]
    honoured = _after_retry_after(flaky_by_id)
    print(
        "\nB29:",
        f"flaky requests={len(flaky.hits)} refusals={len(refusals)}",
        f"retry_after_answers={sum(1 for h in refusals if h.retry_after_s)}",
        f"min_gap_after_retry_after_s={min((g for _, g, _ in honoured), default=0)}",
        f"max_attempts={max(len(h) for h in flaky_by_id.values())}",
        f"max_concurrent={flaky.max_concurrent}",
        f"recovery_peak_rps_1s={peak_rate(recovery, 1.0):.0f}",
        f"recovery_peak_rps_100ms={peak_rate(recovery, 0.1):.0f}",
        f"all_in_after_recovery_s={finished - flaky.down_until:.1f}",
        f"healthy_p50_s={percentile(latencies, 0.5):.3f}",
        f"healthy_p95_s={percentile(latencies, 0.95):.3f}",
        f"healthy_max_s={max(latencies):.3f}",
    )

    assert flaky.delivered() == dict.fromkeys(flaky_ids, 1)
    assert healthy.delivered() == dict.fromkeys([warm_up, *healthy_ids], 1)
    assert honoured
    assert [(i, gap) for i, gap, asked in honoured if gap < asked] == []
    assert flaky.max_concurrent <= CONCURRENCY
    assert healthy.max_concurrent <= CONCURRENCY
    assert percentile(latencies, 0.95) < HEALTHY_P95_BOUND_S
    assert finished <= window_ends
    assert exit_status == 0
