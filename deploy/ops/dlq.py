"""``unstuck dlq``: dead letters by workspace and reason, and their redrive.

A dead letter keeps the original key and bytes and the topic they came from, so a
redrive republishes exactly what the stage refused, once the cause is fixed (a
workspace configured, a receiver back up). Repeats are absorbed downstream: the
processor's dedupe table drops replayed signals, record upserts are keyed by capture
id, and a webhook keeps its stable id.
"""

from __future__ import annotations

import uuid
from collections import Counter
from dataclasses import dataclass
from typing import Any

from confluent_kafka import Consumer, Producer, TopicPartition

from deploy.ops.messages import describe
from deploy.ops.target import KafkaTarget
from schemas import codec
from schemas.topics import RECORDS_DLQ, SIGNALS_DLQ, WEBHOOKS_DLQ, Topic

DEAD_LETTER_TOPICS = (SIGNALS_DLQ, RECORDS_DLQ, WEBHOOKS_DLQ)
READ_TIMEOUT_S = 15.0


@dataclass(frozen=True)
class DeadLetter:
    """One dead letter and where it sits in its dead-letter topic."""

    dlq_topic: str
    partition: int
    offset: int
    letter: dict[str, Any]

    @property
    def reason_code(self) -> str:
        """The stable part of the reason, before any detail after a colon."""
        return str(self.letter["reason"]).split(":", 1)[0].strip()

    @property
    def workspace(self) -> str:
        return str(self.letter.get("workspace_id") or "-")


@dataclass(frozen=True)
class LetterFilter:
    """Which dead letters a command applies to; ``None`` matches all."""

    workspace: str | None = None
    reason: str | None = None
    stage: str | None = None

    def matches(self, dead: DeadLetter) -> bool:
        return (
            (
                self.workspace is None
                or dead.letter.get("workspace_id") == self.workspace
            )
            and (self.reason is None or dead.reason_code == self.reason)
            and (self.stage is None or dead.letter.get("stage") == self.stage)
        )


def read_dead_letters(target: KafkaTarget) -> list[DeadLetter]:
    """Every retained dead letter, up to the end offsets seen at the start."""
    consumer = Consumer(
        {
            "bootstrap.servers": target.bootstrap,
            "group.id": f"unstuck-dlq-{uuid.uuid4().hex[:8]}",
            "enable.auto.commit": False,
        }
    )
    try:
        ends = _ends(consumer, target)
        return _read_until(consumer, ends)
    finally:
        consumer.close()


def _ends(consumer: Consumer, target: KafkaTarget) -> dict[tuple[str, int], int]:
    ends: dict[tuple[str, int], int] = {}
    metadata = consumer.list_topics(timeout=10)
    for topic in DEAD_LETTER_TOPICS:
        name = topic.name(target.prefix)
        if name not in metadata.topics:
            continue
        for partition in metadata.topics[name].partitions:
            low, high = consumer.get_watermark_offsets(
                TopicPartition(name, partition), timeout=10, cached=False
            )
            if high > low:
                ends[(name, partition)] = high
    return ends


def _read_until(
    consumer: Consumer, ends: dict[tuple[str, int], int]
) -> list[DeadLetter]:
    if not ends:
        return []
    consumer.assign([TopicPartition(t, p, 0) for t, p in ends])
    letters: list[DeadLetter] = []
    pending = dict(ends)
    idle_polls = 0
    while pending and idle_polls < READ_TIMEOUT_S / 0.5:
        message = consumer.poll(0.5)
        if message is None or message.error() is not None:
            idle_polls += 1
            continue
        idle_polls = 0
        where = (str(message.topic()), int(message.partition() or 0))
        offset = int(message.offset() or 0)
        if offset + 1 >= pending.get(where, 0):
            pending.pop(where, None)
        try:
            letter = codec.decode("dead_letter", message.value())
        except codec.CodecError:
            continue
        letters.append(DeadLetter(where[0], where[1], offset, letter))
    return letters


def summarize(letters: list[DeadLetter]) -> list[dict[str, Any]]:
    """Counts per dead-letter topic, workspace, stage and reason code."""
    counts = Counter(
        (d.dlq_topic, d.workspace, str(d.letter["stage"]), d.reason_code)
        for d in letters
    )
    return [
        {"topic": t, "workspace_id": w, "stage": s, "reason": r, "count": n}
        for (t, w, s, r), n in sorted(counts.items())
    ]


def show(target: KafkaTarget, dead: DeadLetter) -> dict[str, Any]:
    """A dead letter with its original message decoded when the schema allows."""
    letter = dict(dead.letter)
    original = letter.pop("value")
    key = letter.pop("key")
    document: dict[str, Any] = {
        "dlq_topic": dead.dlq_topic,
        "dlq_partition": dead.partition,
        "dlq_offset": dead.offset,
        **{
            k: v.isoformat() if hasattr(v, "isoformat") else v
            for k, v in letter.items()
        },
    }
    source = _source_topic(target, str(letter["topic"]))
    if source is not None:
        where = (str(letter["topic"]), int(letter["partition"]), int(letter["offset"]))
        document["original"] = describe(source, where, key, original)
    return document


def redrive(
    target: KafkaTarget, letters: list[DeadLetter], dry_run: bool = False
) -> dict[str, Any]:
    """Republish each letter's original key and bytes to its source topic."""
    counts: Counter[str] = Counter()
    producer = Producer(
        {"bootstrap.servers": target.bootstrap, "enable.idempotence": True}
    )
    for dead in letters:
        source = str(dead.letter["topic"])
        if _source_topic(target, source) is None or dead.letter["value"] is None:
            counts["skipped"] += 1
            continue
        if not dry_run:
            producer.produce(source, key=dead.letter["key"], value=dead.letter["value"])
            producer.poll(0)
        counts[source] += 1

    remaining = producer.flush(30)
    if remaining:
        raise SystemExit(f"{remaining} redriven messages were not acknowledged")
    skipped = counts.pop("skipped", 0)
    return {
        "redriven": sum(counts.values()),
        "skipped": skipped,
        "by_topic": dict(counts),
        "dry_run": dry_run,
    }


def _source_topic(target: KafkaTarget, name: str) -> Topic | None:
    """The catalog topic a letter came from, only if it belongs to this prefix."""
    return target.names().get(name)
