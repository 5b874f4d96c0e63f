"""Helpers for the sink tests: records, Kafka I/O, waiting, and workers in threads."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from confluent_kafka import Consumer, Message, Producer, TopicPartition

from schemas import codec
from sinks.records.migrate import migrate
from sinks.settings import SinkSettings

BASE_TIME = datetime(2024, 5, 1, 12, 0, 0, tzinfo=UTC)


def make_record(
    workspace_id: str,
    lead_id: str,
    *,
    capture_id: str | None = None,
    occurred_at: datetime = BASE_TIME,
    event_name: str = "pricing_page_viewed",
    title: str = "VP of Marketing",
    icp_score: int | None = None,
    context_json: str | None = '{"page_url": "https://example.com/pricing"}',
) -> dict[str, Any]:
    """A SignalRecord as the processor would emit it."""
    identity = {
        "email": "Jane.Doe@example.com",
        "linkedin_url": "https://www.linkedin.com/in/jane-doe-example",
        "company_domain": "example.com",
        "first_name": "Jane",
        "last_name": "Doe",
        "title": title,
    }
    qualification = None
    if icp_score is not None:
        qualification = {
            "icp_code": "icp_saas",
            "icp_score": icp_score,
            "persona_code": "marketing_leader",
            "persona_score": 80,
            "reasons": ["industry matches"],
            "rules_version": "v1",
        }
    capture = capture_id or str(uuid.uuid4())
    return {
        "capture_id": capture,
        "workspace_id": workspace_id,
        "lead_id": lead_id,
        "lead_kind": "person",
        "dedupe_key": f"dk-{capture}",
        "signal_type": "website_visit",
        "source": "web_tracker",
        "event_name": event_name,
        "occurred_at": occurred_at,
        "received_at": occurred_at + timedelta(seconds=1),
        "processed_at": occurred_at + timedelta(seconds=2),
        "identity": identity,
        "identity_normalized": {
            **identity,
            "email": "jane.doe@example.com",
            "linkedin_url": "jane-doe-example",
        },
        "context_json": context_json,
        "bucket": None,
        "company": {
            "domain": "example.com",
            "name": "Example Inc",
            "industry": "Software",
            "employees": 250,
            "country": "US",
            "region": "NA",
            "technologies": ["kafka"],
            "funding_total_usd": None,
            "directory_source": "test",
        },
        "qualification": qualification,
        "idempotency_key": None,
    }


def produce(bootstrap: str, topic: str, items: list[tuple[bytes, bytes]]) -> None:
    """Write (key, value) pairs and wait for the broker's acknowledgement."""
    producer = Producer({"bootstrap.servers": bootstrap, "acks": "all"})
    for key, value in items:
        producer.produce(topic, key=key, value=value)
    assert producer.flush(30) == 0


def read_all(
    bootstrap: str, topic: str, expected: int, timeout: float = 30
) -> list[Message]:
    """Read ``expected`` messages from the start of ``topic``, or what came in time."""
    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": f"reader-{uuid.uuid4().hex}",
            "auto.offset.reset": "earliest",
            "enable.auto.commit": False,
        }
    )
    consumer.subscribe([topic])
    found: list[Message] = []
    deadline = time.monotonic() + timeout
    try:
        while len(found) < expected and time.monotonic() < deadline:
            message = consumer.poll(0.5)
            if message is not None and message.error() is None:
                found.append(message)
    finally:
        consumer.close()
    return found


def committed(bootstrap: str, group: str, topic: str, partitions: int) -> int:
    """The sum of the group's committed offsets over the topic's partitions."""
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": group})
    try:
        offsets = consumer.committed(
            [TopicPartition(topic, p) for p in range(partitions)], timeout=10
        )
    finally:
        consumer.close()
    return sum(max(tp.offset, 0) for tp in offsets)


def wait_for(check: Callable[[], bool], timeout: float = 60, what: str = "") -> None:
    """Poll ``check`` until it holds; fail the test with ``what`` otherwise."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.2)
    pytest.fail(f"timed out waiting for {what}")


class WorkerThread:
    """A sink worker running in a thread, stopped through its stop event."""

    def __init__(
        self,
        target: Callable[[SinkSettings, threading.Event], None],
        settings: SinkSettings,
    ) -> None:
        self.stop = threading.Event()
        self.error: BaseException | None = None
        self._thread = threading.Thread(
            target=self._run, args=(target, settings), daemon=True
        )

    def _run(
        self,
        target: Callable[[SinkSettings, threading.Event], None],
        settings: SinkSettings,
    ) -> None:
        try:
            target(settings, self.stop)
        except BaseException as error:
            self.error = error

    def start(self) -> WorkerThread:
        self._thread.start()
        return self

    def join(self, timeout: float = 60) -> None:
        """Stop the worker and wait for it; re-raise what killed it, if anything."""
        self.stop.set()
        self._thread.join(timeout)
        assert not self._thread.is_alive(), "worker did not stop"
        if self.error is not None:
            raise self.error


@pytest.fixture
def sink_settings(
    kafka_bootstrap: str,
    database_url: str,
    topic_prefix: str,
    unique_name: Callable[[str], str],
) -> SinkSettings:
    """Settings aimed at the session's servers, a fresh prefix and fresh groups.

    The schema is migrated here, so a test can query tables before its worker
    has finished starting.
    """
    migrate(database_url)
    return SinkSettings(
        kafka_bootstrap_servers=kafka_bootstrap,
        database_url=database_url,
        topic_prefix=topic_prefix,
        records_group=unique_name("records-sink"),
        webhooks_group=unique_name("webhooks-sink"),
        batch_max_size=100,
        batch_max_wait_ms=300,
        db_retry_base_s=0.2,
        db_retry_cap_s=1.0,
        webhook_allow_loopback=True,
        webhook_max_attempts=3,
        webhook_backoff_base_s=0.2,
        webhook_backoff_cap_s=0.5,
        webhook_timeout_s=5,
        shutdown_grace_s=5,
    )


@pytest.fixture
def running() -> Iterator[list[WorkerThread]]:
    """Workers started by a test, all stopped when it ends even if it failed."""
    workers: list[WorkerThread] = []
    yield workers
    for worker in workers:
        worker.stop.set()
    for worker in workers:
        worker.join()


def encode_record(record: dict[str, Any]) -> tuple[bytes, bytes]:
    """The (key, value) the processor writes for a record."""
    return record["capture_id"].encode(), codec.encode("record", record)
