"""What ``unstuck status`` measures: topics, consumer groups, lag, dead letters.

Everything is read from the brokers (metadata, watermarks, committed offsets, group
descriptions), so the answer is the same whichever replica or machine asks.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import asdict, dataclass, field
from typing import Any

from confluent_kafka import Consumer, ConsumerGroupTopicPartitions, TopicPartition
from confluent_kafka.admin import AdminClient, OffsetSpec  # type: ignore[attr-defined]

from deploy.ops.target import KafkaTarget

REQUEST_TIMEOUT_S = 10.0
# How long to wait for the oldest unconsumed message of each lagging partition.
HEAD_FETCH_S = 3.0
WATERMARK_ATTEMPTS = 10


@dataclass
class TopicStatus:
    """One catalog topic: size, retained messages and how fast it grows."""

    name: str
    partitions: int
    end_offset: int
    retained: int
    rate_per_s: float | None = None


@dataclass
class MemberStatus:
    """One live member of a group and the partitions it owns."""

    member_id: str
    client_id: str
    host: str
    assignment: list[str]


@dataclass
class GroupStatus:
    """A consumer group reading catalog topics, and how far behind it is."""

    group_id: str
    state: str
    members: list[MemberStatus]
    lag_messages: int
    lag_seconds: float | None
    consumed_per_s: float | None = None
    lag_by_topic: dict[str, int] = field(default_factory=dict)


@dataclass
class StatusReport:
    """The whole answer of ``unstuck status``."""

    prefix: str
    topics: list[TopicStatus]
    groups: list[GroupStatus]
    dead_letters: dict[str, int]

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


def collect_status(target: KafkaTarget, interval: float = 1.0) -> StatusReport:
    """Sample the cluster twice, ``interval`` apart, to add rates to the counts."""
    admin = AdminClient({"bootstrap.servers": target.bootstrap})
    consumer = _offsets_consumer(target)
    try:
        present = _present_topics(admin, target)
        _, first_ends = _watermarks(admin, present)
        groups = _groups_reading(admin, set(present))
        first_committed = _committed(admin, groups)
        if interval > 0:
            time.sleep(interval)

        lows, ends = _watermarks(admin, present)
        committed = _committed(admin, groups)
        topics = _topic_statuses(present, ends, first_ends, lows, interval)
        described = _describe(admin, list(groups))
        group_statuses = [
            _group_status(
                consumer,
                group,
                described.get(group),
                committed[group],
                first_committed[group],
                (lows, ends),
                interval,
            )
            for group in sorted(groups)
        ]
    finally:
        consumer.close()

    dead = {t.name: t.retained for t in topics if t.name.endswith(".dlq")}
    return StatusReport(target.prefix, topics, group_statuses, dead)


def _offsets_consumer(target: KafkaTarget) -> Consumer:
    """A consumer that never joins or commits: it only reads offsets and heads."""
    return Consumer(
        {
            "bootstrap.servers": target.bootstrap,
            "group.id": f"unstuck-status-{uuid.uuid4().hex[:8]}",
            "enable.auto.commit": False,
        }
    )


def _present_topics(admin: AdminClient, target: KafkaTarget) -> dict[str, int]:
    """Catalog topics that exist, with their partition counts."""
    metadata = admin.list_topics(timeout=REQUEST_TIMEOUT_S)
    return {
        name: len(metadata.topics[name].partitions)
        for name in target.names()
        if name in metadata.topics and metadata.topics[name].error is None
    }


Offsets = dict[tuple[str, int], int]


def _watermarks(admin: AdminClient, present: dict[str, int]) -> tuple[Offsets, Offsets]:
    """Low and high watermarks of every partition of ``present``, in two requests."""
    partitions = [(t, p) for t, count in present.items() for p in range(count)]
    return (
        _list_offsets(admin, partitions, _spec("earliest")),
        _list_offsets(admin, partitions, _spec("latest")),
    )


def _spec(name: str) -> Any:
    """``OffsetSpec.earliest()`` or ``latest()``, unannotated upstream."""
    factory: Any = getattr(OffsetSpec, name)
    return factory()


def _list_offsets(
    admin: AdminClient, partitions: list[tuple[str, int]], spec: Any
) -> Offsets:
    """Offsets by partition; a partition between leaders is asked again."""
    found: Offsets = {}
    for _attempt in range(WATERMARK_ATTEMPTS):
        wanted = {
            TopicPartition(t, p): spec for t, p in partitions if (t, p) not in found
        }
        if not wanted:
            break
        futures = admin.list_offsets(wanted, request_timeout=REQUEST_TIMEOUT_S)
        for tp, future in futures.items():
            if future.exception() is None:
                found[(tp.topic, tp.partition)] = future.result().offset
        time.sleep(0.2 if len(found) < len(partitions) else 0)

    missing = [f"{t}:{p}" for t, p in partitions if (t, p) not in found]
    if missing:
        raise SystemExit("no offsets for " + ", ".join(missing[:5]))
    return found


def _topic_statuses(
    present: dict[str, int],
    ends: Offsets,
    first_ends: Offsets,
    lows: Offsets,
    interval: float,
) -> list[TopicStatus]:
    statuses = []
    for topic, count in present.items():
        end = sum(ends[(topic, p)] for p in range(count))
        low = sum(lows[(topic, p)] for p in range(count))
        before = sum(first_ends[(topic, p)] for p in range(count))
        rate = (end - before) / interval if interval > 0 else None
        statuses.append(TopicStatus(topic, count, end, end - low, rate))
    return statuses


def _groups_reading(admin: AdminClient, topics: set[str]) -> list[str]:
    """Groups with a committed offset or an assignment on one of ``topics``."""
    listed = admin.list_consumer_groups(request_timeout=REQUEST_TIMEOUT_S).result()
    candidates = [g.group_id for g in listed.valid]
    described = _describe(admin, candidates)
    committed_by_group = _committed(admin, candidates)
    reading = []
    for group in candidates:
        assigned = {
            tp.topic
            for member in getattr(described.get(group), "members", [])
            for tp in (member.assignment.topic_partitions if member.assignment else [])
        }
        committed = {topic for topic, _ in committed_by_group[group]}
        if (assigned | committed) & topics:
            reading.append(group)
    return reading


def _describe(admin: AdminClient, groups: list[str]) -> dict[str, Any]:
    if not groups:
        return {}
    futures = admin.describe_consumer_groups(groups, request_timeout=REQUEST_TIMEOUT_S)
    described = {}
    for group, future in futures.items():
        if future.exception() is None:
            described[group] = future.result()
    return described


def _committed(admin: AdminClient, groups: list[str]) -> dict[str, Offsets]:
    """Committed offsets per group; librdkafka takes one group per request."""
    futures = {
        group: admin.list_consumer_group_offsets(
            [ConsumerGroupTopicPartitions(group)], request_timeout=REQUEST_TIMEOUT_S
        )[group]
        for group in groups
    }
    committed: dict[str, Offsets] = {}
    for group, future in futures.items():
        found = [] if future.exception() else future.result().topic_partitions
        committed[group] = {
            (tp.topic, tp.partition): tp.offset for tp in found if tp.offset >= 0
        }
    return committed


def _group_status(
    consumer: Consumer,
    group: str,
    description: Any,
    committed: Offsets,
    first_committed: Offsets,
    marks: tuple[Offsets, Offsets],
    interval: float,
) -> GroupStatus:
    """Lag over every partition of the topics the group reads.

    A partition without a committed offset counts from its low watermark: every
    worker of the pipeline starts at the earliest offset, so that is where its
    reading would begin.
    """
    lows, ends = marks
    members = _members(description)
    touched = {t for t, _ in committed} | {
        entry.rsplit(":", 1)[0] for m in members for entry in m.assignment
    }
    positions = {tp: committed.get(tp, lows[tp]) for tp in ends if tp[0] in touched}
    lags = {tp: max(0, ends[tp] - offset) for tp, offset in positions.items()}
    by_topic: dict[str, int] = {}
    for (topic, _), lag in lags.items():
        by_topic[topic] = by_topic.get(topic, 0) + lag

    moved = sum(
        committed[tp] - first_committed.get(tp, lows[tp])
        for tp in lags
        if tp in committed
    )
    lagging = {tp: positions[tp] for tp, lag in lags.items() if lag > 0}
    return GroupStatus(
        group_id=group,
        state=str(getattr(description, "state", "UNKNOWN")).rsplit(".", 1)[-1],
        members=members,
        lag_messages=sum(lags.values()),
        lag_seconds=_lag_seconds(consumer, lagging),
        consumed_per_s=moved / interval if interval > 0 else None,
        lag_by_topic=by_topic,
    )


def _members(description: Any) -> list[MemberStatus]:
    members = []
    for member in getattr(description, "members", []):
        owned = member.assignment.topic_partitions if member.assignment else []
        members.append(
            MemberStatus(
                member_id=member.member_id,
                client_id=member.client_id,
                host=member.host,
                assignment=sorted(f"{tp.topic}:{tp.partition}" for tp in owned),
            )
        )
    return members


def _lag_seconds(consumer: Consumer, lagging: Offsets) -> float | None:
    """Age of the oldest message a group has not consumed yet, over its partitions.

    Zero when nothing is waiting; None when the waiting messages could not be read
    in time (they may have been deleted by retention meanwhile).
    """
    if not lagging:
        return 0.0

    consumer.assign([TopicPartition(t, p, o) for (t, p), o in lagging.items()])
    oldest: float | None = None
    pending = set(lagging)
    deadline = time.monotonic() + HEAD_FETCH_S
    while pending and time.monotonic() < deadline:
        message = consumer.poll(0.2)
        if message is None or message.error() is not None:
            continue
        where = (message.topic(), message.partition())
        if where not in pending:
            continue
        pending.discard(where)
        consumer.incremental_unassign([TopicPartition(*where)])
        stamp = message.timestamp()[1] / 1000.0
        oldest = stamp if oldest is None else min(oldest, stamp)
    consumer.unassign()

    return None if oldest is None else max(0.0, time.time() - oldest)
