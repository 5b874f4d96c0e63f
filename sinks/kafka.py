"""Kafka plumbing both sinks share: consumer settings, offsets and dead letters."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

import structlog
from confluent_kafka import Consumer, KafkaException, Message, Producer, TopicPartition

from schemas import codec
from sinks.errors import DeadLetterError

log = structlog.get_logger(__name__)

DEAD_LETTER_FLUSH_S = 30.0


def new_consumer(bootstrap_servers: str, group_id: str) -> Consumer:
    """A consumer that never commits on its own: offsets move after the output."""
    return Consumer(
        {
            "bootstrap.servers": bootstrap_servers,
            "group.id": group_id,
            "enable.auto.commit": False,
            "auto.offset.reset": "earliest",
            # Cooperative rebalancing keeps the partitions a member still owns
            # flowing while another member joins or leaves.
            "partition.assignment.strategy": "cooperative-sticky",
            # A member that died hands its partitions over after 10 s instead of
            # librdkafka's 45 s; heartbeats run on their own thread, so a slow
            # batch does not count against it.
            "session.timeout.ms": 10_000,
        }
    )


def next_offsets(messages: Iterable[Message]) -> list[TopicPartition]:
    """The offsets to commit after ``messages``: one past the highest per partition."""
    highest: dict[tuple[str, int], int] = {}
    for message in messages:
        key = (str(message.topic()), int(message.partition() or 0))
        highest[key] = max(highest.get(key, -1), int(message.offset() or 0))
    return [TopicPartition(t, p, o + 1) for (t, p), o in sorted(highest.items())]


def commit(consumer: Consumer, offsets: list[TopicPartition]) -> bool:
    """Commit synchronously; False when the partitions were taken away meanwhile.

    A failed commit after a rebalance is harmless: the new owner reprocesses the
    messages and every sink write is idempotent.
    """
    if not offsets:
        return True
    try:
        consumer.commit(offsets=offsets, asynchronous=False)
    except KafkaException as error:
        log.warning("sink.commit_failed", error=str(error), partitions=len(offsets))
        return False
    return True


class DeadLetters:
    """Produces dead letters that keep the original key and bytes with the reason."""

    def __init__(self, bootstrap_servers: str, topic: str, stage: str) -> None:
        self._topic = topic
        self._stage = stage
        self._failures: list[str] = []
        self._producer = Producer(
            {
                "bootstrap.servers": bootstrap_servers,
                "enable.idempotence": True,
                "acks": "all",
            }
        )

    def send(
        self,
        message: Message,
        reason: str,
        error_type: str,
        workspace_id: str | None = None,
    ) -> None:
        """Queue one dead letter; ``flush`` makes it durable."""
        letter: dict[str, Any] = {
            "stage": self._stage,
            "reason": reason,
            "error_type": error_type,
            "topic": message.topic(),
            "partition": message.partition(),
            "offset": message.offset(),
            "key": message.key(),
            "value": message.value(),
            "workspace_id": workspace_id,
            "failed_at": datetime.now(UTC),
        }
        log.warning(
            "sink.dead_lettered",
            stage=self._stage,
            topic=message.topic(),
            partition=message.partition(),
            offset=message.offset(),
            reason=reason,
        )
        self._producer.produce(
            self._topic,
            key=message.key(),
            value=codec.encode("dead_letter", letter),
            on_delivery=self._on_delivery,
        )
        self._producer.poll(0)

    def flush(self, timeout: float = DEAD_LETTER_FLUSH_S) -> None:
        """Wait until every queued dead letter is acknowledged, or raise."""
        remaining = self._producer.flush(timeout)
        failures, self._failures = self._failures, []
        if remaining or failures:
            raise DeadLetterError(
                f"dead letters not acknowledged: {remaining} pending, {failures}"
            )

    def _on_delivery(self, error: Any, _message: Any) -> None:
        if error is not None:
            self._failures.append(str(error))
