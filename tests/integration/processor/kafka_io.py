"""Producing to and reading from the pipeline's topics, for the processor tests."""

from __future__ import annotations

import time
import urllib.request
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from confluent_kafka import (
    OFFSET_BEGINNING,
    Consumer,
    KafkaError,
    Producer,
    TopicPartition,
)

from schemas import codec, keys
from schemas.identity import canonicalize

Headers = dict[str, str | bytes | None] | None


@dataclass(frozen=True)
class Seen:
    """One message read back, with where it was."""

    key: bytes | None
    value: bytes | None
    partition: int
    offset: int


def producer(bootstrap: str) -> Producer:
    return Producer(
        {
            "bootstrap.servers": bootstrap,
            "enable.idempotence": True,
            "acks": "all",
            "linger.ms": 20,
            "compression.type": "lz4",
        }
    )


def produce(
    bootstrap: str,
    topic: str,
    messages: Iterable[tuple[bytes | None, bytes, Headers]],
    partition: int | None = None,
) -> None:
    """Produce every (key, value, headers) in order and wait for all acks."""
    out = producer(bootstrap)
    for key, value, headers in messages:
        extra: dict[str, Any] = {} if partition is None else {"partition": partition}
        while True:
            try:
                out.produce(topic, key=key, value=value, headers=headers, **extra)
                break
            except BufferError:
                out.poll(0.1)
        out.poll(0)
    assert out.flush(60) == 0, "messages were not acknowledged"


def raw_signal(
    workspace_id: str,
    email: str,
    received_at: datetime | None = None,
    signal_type: str = "website_visit",
) -> tuple[bytes, bytes, None]:
    """A signal_raw message keyed as the gateway keys it."""
    identity = {
        "email": email,
        "company_domain": "example.com",
        "first_name": None,
        "last_name": None,
        "title": "VP of Marketing",
        "linkedin_url": None,
    }
    occurred_at = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
    dedupe_key = keys.dedupe_key(
        workspace_id, signal_type, "web_tracker", canonicalize(identity), occurred_at
    )
    value = codec.encode(
        "signal_raw",
        {
            "capture_id": keys.capture_id(dedupe_key),
            "workspace_id": workspace_id,
            "dedupe_key": dedupe_key,
            "body_sha256": uuid.uuid4().hex * 2,
            "received_at": received_at or datetime.now(UTC),
            "signal_type": signal_type,
            "source": "web_tracker",
            "event_name": "pricing_page_viewed",
            "occurred_at": occurred_at,
            "identity": identity,
            "context_json": None,
            "idempotency_key": None,
        },
    )
    return dedupe_key.encode(), value, None


def capture_of(message: tuple[bytes, bytes, None]) -> str:
    """The capture id a raw message will be stored under."""
    return str(codec.decode("signal_raw", message[1])["capture_id"])


class TopicReader:
    """Reads a topic from its beginning and keeps everything read so far."""

    def __init__(self, bootstrap: str, topic: str) -> None:
        self.topic = topic
        self.messages: list[Seen] = []
        self._consumer = Consumer(
            {
                "bootstrap.servers": bootstrap,
                "group.id": f"test-reader-{uuid.uuid4()}",
                "enable.auto.commit": False,
                "enable.partition.eof": True,
            }
        )
        metadata = self._consumer.list_topics(topic, timeout=10).topics[topic]
        self._partitions = sorted(metadata.partitions)
        self._consumer.assign(
            [TopicPartition(topic, p, OFFSET_BEGINNING) for p in self._partitions]
        )

    def drain(self, seconds: float = 0.5) -> list[Seen]:
        """Read until every partition is at its end or ``seconds`` have passed."""
        deadline = time.monotonic() + seconds
        at_end: set[int] = set()
        while time.monotonic() < deadline and len(at_end) < len(self._partitions):
            batch = self._consumer.consume(5000, 0.2)
            for message in batch:
                error = message.error()
                if error is not None:
                    if error.code() == KafkaError._PARTITION_EOF:
                        at_end.add(int(message.partition() or 0))
                    continue
                at_end.discard(message.partition())
                self.messages.append(
                    Seen(
                        message.key(),
                        message.value(),
                        int(message.partition() or 0),
                        int(message.offset() or 0),
                    )
                )
        return self.messages

    def wait_for(
        self, predicate: Callable[[list[Seen]], bool], timeout: float = 60.0
    ) -> list[Seen]:
        """Read until ``predicate`` holds for everything read, or fail."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if predicate(self.drain()):
                return self.messages
        raise TimeoutError(f"{self.topic}: condition not met, {len(self.messages)}")

    def close(self) -> None:
        self._consumer.close()


def decoded(messages: list[Seen], schema: str) -> list[dict[str, Any]]:
    return [codec.decode(schema, m.value) for m in messages if m.value is not None]


def live_keys(bootstrap: str, topic: str) -> set[bytes]:
    """The keys of a compacted topic that are not tombstoned, read to its end."""
    reader = TopicReader(bootstrap, topic)
    try:
        messages = reader.drain(10.0)
    finally:
        reader.close()

    live: set[bytes] = set()
    for message in messages:
        if message.key is None:
            continue
        if message.value is None:
            live.discard(message.key)
        else:
            live.add(message.key)
    return live


def scrape(port: int) -> dict[str, float]:
    """A worker's Prometheus metrics as name{labels} to value."""
    url = f"http://127.0.0.1:{port}/metrics"
    with urllib.request.urlopen(url, timeout=5) as answer:
        text = answer.read().decode()
    values: dict[str, float] = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            name, _, value = line.rpartition(" ")
            values[name] = float(value)
    return values


def owned_partitions(port: int) -> set[int]:
    """The raw partitions a worker reports lag for, i.e. owns; empty if down."""
    try:
        metrics = scrape(port)
    except OSError:
        return set()
    found = set()
    for name in metrics:
        if name.startswith("unstuck_processor_consumer_lag_messages{"):
            found.add(int(name.split('partition="')[1].split('"')[0]))
    return found
