"""``unstuck tail``: decoded messages of one topic as they arrive."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from confluent_kafka import (
    OFFSET_BEGINNING,
    OFFSET_END,
    Consumer,
    KafkaError,
    TopicPartition,
)

from deploy.ops.messages import describe
from deploy.ops.target import KafkaTarget


@dataclass(frozen=True)
class TailFilter:
    """Which messages to show; ``None`` fields match everything."""

    workspace: str | None = None
    signal_type: str | None = None

    def matches(self, value: dict[str, Any] | None) -> bool:
        if self.workspace is None and self.signal_type is None:
            return True
        if value is None:
            return False
        if self.workspace is not None and value.get("workspace_id") != self.workspace:
            return False
        return self.signal_type is None or value.get("signal_type") == self.signal_type


def tail(
    target: KafkaTarget,
    topic_name: str,
    wanted: TailFilter,
    *,
    max_messages: int | None = None,
    from_beginning: bool = False,
    idle_timeout: float | None = None,
    should_stop: Callable[[], bool] = lambda: False,
) -> Iterator[dict[str, Any]]:
    """Yield matching messages; stop after ``max_messages`` or ``idle_timeout``.

    The consumer is assigned every partition directly instead of joining a group:
    tailing must never steal partitions from, or commit offsets for, a worker.
    """
    topic = target.topic(topic_name)
    name = topic.name(target.prefix)
    consumer = Consumer(
        {
            "bootstrap.servers": target.bootstrap,
            "group.id": f"unstuck-tail-{uuid.uuid4().hex[:8]}",
            "enable.auto.commit": False,
            "enable.partition.eof": False,
        }
    )
    start = OFFSET_BEGINNING if from_beginning else OFFSET_END
    metadata = consumer.list_topics(name, timeout=10)
    partitions = metadata.topics[name].partitions
    consumer.assign([TopicPartition(name, p, start) for p in partitions])

    shown = 0
    last_seen = time.monotonic()
    try:
        while max_messages is None or shown < max_messages:
            if should_stop():
                return
            if idle_timeout is not None and time.monotonic() - last_seen > idle_timeout:
                return
            message = consumer.poll(0.5)
            if message is None:
                continue
            error = message.error()
            if error is not None and error.code() != KafkaError._PARTITION_EOF:
                raise SystemExit(f"cannot read {name}: {error}")
            if error is not None:
                continue

            last_seen = time.monotonic()
            document = describe(
                topic,
                (name, int(message.partition() or 0), int(message.offset() or 0)),
                message.key(),
                message.value(),
                message.timestamp()[1],
            )
            if wanted.matches(document.get("value")):
                shown += 1
                yield document
    finally:
        consumer.close()
