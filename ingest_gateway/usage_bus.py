"""The ``ratelimit.usage`` topic: where replicas claim and release rate tokens.

The messages are the gateway's own coordination, read by no other service, so they
are compact JSON rather than an Avro contract. Every replica reads every partition
from the start of the current UTC day, which rebuilds the day's ledger after a
restart; the topic keeps two days, enough for that and no more.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
import uuid
from collections.abc import Callable
from typing import Any

import structlog
from confluent_kafka import (
    OFFSET_END,
    Consumer,
    KafkaError,
    KafkaException,
    Producer,
    TopicPartition,
)

from ingest_gateway import metrics
from ingest_gateway.errors import BackPressureError
from ingest_gateway.ratelimit import DAY

log = structlog.get_logger("gateway.ratelimit")

Deliver = Callable[[list[dict[str, Any]]], None]


class UsageBus:
    """Publishes claims and hands every replica's messages to the event loop."""

    def __init__(self, bootstrap_servers: str, topic: str) -> None:
        self._topic = topic
        self._producer = Producer(
            {
                "bootstrap.servers": bootstrap_servers,
                "enable.idempotence": True,
                "acks": "all",
                # A claim is on the path of a waiting request: send it at once.
                "linger.ms": 0,
            }
        )
        self._consumer = Consumer(
            {
                "bootstrap.servers": bootstrap_servers,
                "group.id": f"unstuck-gateway-ratelimit-{uuid.uuid4()}",
                "enable.auto.commit": False,
                # Claims are answered only once read back: do not sit on a fetch.
                "fetch.wait.max.ms": 5,
            }
        )
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name="ratelimit", daemon=True)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._deliver: Deliver | None = None

    def start(self, loop: asyncio.AbstractEventLoop, deliver: Deliver) -> None:
        """Assign every partition from today's first message, then follow it."""
        self._loop, self._deliver = loop, deliver
        metadata = self._consumer.list_topics(self._topic, timeout=10)
        topic = metadata.topics.get(self._topic)
        if topic is None or topic.error is not None:
            raise KafkaException(f"topic {self._topic} is not available")

        day_start_ms = int(time.time() // DAY * DAY * 1000)
        wanted = [
            TopicPartition(self._topic, p, day_start_ms) for p in topic.partitions
        ]
        found = self._consumer.offsets_for_times(wanted, timeout=10)
        self._consumer.assign(
            [
                TopicPartition(self._topic, tp.partition, tp.offset)
                if tp.offset >= 0
                else TopicPartition(self._topic, tp.partition, OFFSET_END)
                for tp in found
            ]
        )
        self._thread.start()

    def publish(self, workspace: str, message: dict[str, Any]) -> None:
        """Queue a message; a full queue is back-pressure, never a silent drop."""
        value = json.dumps(message, separators=(",", ":")).encode()
        try:
            self._producer.produce(
                self._topic, key=workspace.encode(), value=value, on_delivery=_report
            )
        except (BufferError, KafkaException) as error:
            metrics.DELIVERY_FAILURES.labels("ratelimit").inc()
            raise BackPressureError(
                "the rate limit ledger cannot take writes"
            ) from error

    def stop(self) -> None:
        """Flush releases, then stop reading."""
        self._producer.flush(5)
        self._stopping.set()
        if self._thread.is_alive():
            self._thread.join(timeout=5)
        self._consumer.close()

    def _run(self) -> None:
        while not self._stopping.is_set():
            self._producer.poll(0)
            messages = self._consumer.consume(500, 0.05)
            decoded = [_decode(m) for m in messages if m.error() is None]
            batch = [m for m in decoded if m is not None]
            if batch and self._loop is not None and self._deliver is not None:
                try:
                    self._loop.call_soon_threadsafe(self._deliver, batch)
                except RuntimeError:
                    return


def _decode(message: Any) -> dict[str, Any] | None:
    try:
        decoded: dict[str, Any] = json.loads(message.value())
    except (TypeError, ValueError):
        log.warning("ratelimit.undecodable", offset=message.offset())
        return None
    return decoded


def _report(error: KafkaError | None, _message: Any) -> None:
    if error is not None:
        metrics.DELIVERY_FAILURES.labels("ratelimit").inc()
        log.warning("ratelimit.publish_failed", error=str(error))
