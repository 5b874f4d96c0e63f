"""A compacted topic held in memory and kept current by a background thread.

Every component reads workspace configuration and the company directory this way, so
the hot path never waits on a database and a change reaches every replica within
seconds, without a restart.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable
from typing import Any

import structlog
from confluent_kafka import (
    OFFSET_BEGINNING,
    Consumer,
    KafkaError,
    KafkaException,
    TopicPartition,
)

from schemas import codec

log = structlog.get_logger(__name__)

POLL_SECONDS = 0.2


class ViewNotReadyError(RuntimeError):
    """The view has not caught up with its topic within the time allowed."""


class CompactedView:
    """The latest value per key of one compacted topic, decoded with its schema."""

    def __init__(
        self,
        bootstrap_servers: str,
        topic: str,
        schema: str,
        on_change: Callable[[str, dict[str, Any] | None], None] | None = None,
    ) -> None:
        self._topic = topic
        self._schema = schema
        self._on_change = on_change
        self._values: dict[str, dict[str, Any]] = {}
        self._bootstrap_servers = bootstrap_servers
        # Next offset to apply, per partition: how far the view has read.
        self._positions: dict[int, int] = {}
        self._moved = threading.Condition()
        self._lock = threading.Lock()
        self._ready = threading.Event()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        # A throwaway group id: the view always reads from the beginning and
        # never commits, so it must not share offsets with anyone.
        self._consumer = Consumer(
            {
                "bootstrap.servers": bootstrap_servers,
                "group.id": f"unstuck-view-{uuid.uuid4()}",
                "enable.auto.commit": False,
                "enable.partition.eof": True,
                "topic.metadata.refresh.interval.ms": 5000,
            }
        )

    def start(self) -> None:
        """Start following the topic from its first offset."""
        self._thread = threading.Thread(
            target=self._run, name=f"view-{self._topic}", daemon=True
        )
        self._thread.start()

    def wait_ready(self, timeout: float = 30.0) -> None:
        """Block until the view has read everything the topic held at start."""
        if not self._ready.wait(timeout):
            raise ViewNotReadyError(f"{self._topic} was not read within {timeout}s")

    def catch_up(self, timeout: float = 10.0) -> bool:
        """Block until the view holds everything written to the topic before now.

        A consumer that meets a key it does not know calls this before deciding
        the key is unknown: the record may have been written a moment ago, and
        the writer may already have been told it exists.
        """
        targets = self._high_watermarks()
        deadline = time.monotonic() + timeout
        with self._moved:
            while not self._reached(targets):
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._moved.wait(min(remaining, 0.5))
        return True

    def _reached(self, targets: dict[int, int]) -> bool:
        return all(self._positions.get(p, 0) >= high for p, high in targets.items())

    def _high_watermarks(self) -> dict[int, int]:
        probe = Consumer(
            {
                "bootstrap.servers": self._bootstrap_servers,
                "group.id": f"unstuck-view-probe-{uuid.uuid4()}",
                "enable.auto.commit": False,
            }
        )
        try:
            metadata = probe.list_topics(self._topic, timeout=10)
            partitions = metadata.topics[self._topic].partitions
            return {
                p: probe.get_watermark_offsets(
                    TopicPartition(self._topic, p), timeout=10
                )[1]
                for p in partitions
            }
        finally:
            probe.close()

    @property
    def ready(self) -> bool:
        return self._ready.is_set()

    def stop(self) -> None:
        """Stop the thread and close the consumer."""
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
        self._consumer.close()

    def get(self, key: str) -> dict[str, Any] | None:
        with self._lock:
            return self._values.get(key)

    def values(self) -> list[dict[str, Any]]:
        with self._lock:
            return list(self._values.values())

    def __len__(self) -> int:
        with self._lock:
            return len(self._values)

    def _assign_from_start(self) -> set[int]:
        metadata = self._consumer.list_topics(self._topic, timeout=10)
        topic = metadata.topics.get(self._topic)
        if topic is None or topic.error is not None or not topic.partitions:
            raise KafkaException(f"topic {self._topic} is not available")

        partitions = sorted(topic.partitions)
        self._consumer.assign(
            [TopicPartition(self._topic, p, OFFSET_BEGINNING) for p in partitions]
        )
        return set(partitions)

    def _run(self) -> None:
        pending: set[int] = set()
        while not self._stopping.is_set() and not pending:
            try:
                pending = self._assign_from_start()
            except KafkaException as error:
                log.warning(
                    "view.topic_unavailable", topic=self._topic, error=str(error)
                )
                self._stopping.wait(1.0)

        while not self._stopping.is_set():
            message = self._consumer.poll(POLL_SECONDS)
            if message is None:
                continue

            problem = message.error()
            if problem is not None:
                if problem.code() == KafkaError._PARTITION_EOF:
                    self._advance(message.partition(), message.offset())
                    pending.discard(message.partition())
                    if not pending:
                        self._ready.set()
                else:
                    log.warning(
                        "view.poll_error", topic=self._topic, error=str(problem)
                    )
                continue

            offset = message.offset()
            self._apply(
                message.key(), message.value(), -1 if offset is None else offset
            )

    def _advance(self, partition: int | None, next_offset: int | None) -> None:
        if partition is None or next_offset is None:
            return
        with self._moved:
            self._positions[partition] = max(
                self._positions.get(partition, 0), next_offset
            )
            self._moved.notify_all()

    def _apply(
        self, raw_key: bytes | None, raw_value: bytes | None, offset: int
    ) -> None:
        if raw_key is None:
            return
        key = raw_key.decode("utf-8", errors="replace")

        value: dict[str, Any] | None = None
        if raw_value is not None:
            try:
                value = codec.decode(self._schema, raw_value)
            except codec.CodecError as error:
                log.error(
                    "view.undecodable",
                    topic=self._topic,
                    offset=offset,
                    error=str(error),
                )
                return

        with self._lock:
            if value is None:
                self._values.pop(key, None)
            else:
                self._values[key] = value
        if self._on_change is not None:
            self._on_change(key, value)
