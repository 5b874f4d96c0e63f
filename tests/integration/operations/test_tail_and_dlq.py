"""``unstuck tail`` filters decoded messages; ``unstuck dlq`` lists and redrives."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime

from confluent_kafka import Consumer, Producer, TopicPartition

from schemas import codec
from schemas.topics import RECORDS, SIGNALS_DLQ, SIGNALS_RAW
from tests.integration.operations.conftest import (
    ops_env,
    produce_records,
    sample_record,
    unstuck,
)


def test_tail_shows_only_the_wanted_workspace_and_type(
    kafka_bootstrap: str, topic_prefix: str
) -> None:
    """--workspace and --signal-type filter; --max stops after N messages."""
    records = [
        sample_record("ws-a", "custom_event"),
        sample_record("ws-b", "custom_event"),
        sample_record("ws-a", "page_visit"),
        sample_record("ws-a", "custom_event"),
    ]
    produce_records(kafka_bootstrap, RECORDS.name(topic_prefix), records)
    env = ops_env(kafka_bootstrap, topic_prefix)

    output = unstuck(
        [
            "tail",
            "records",
            "--from-beginning",
            "--workspace",
            "ws-a",
            "--signal-type",
            "custom_event",
            "--max",
            "2",
        ],
        env,
    ).stdout

    shown = [json.loads(line) for line in output.splitlines()]
    expected = {records[0]["capture_id"], records[3]["capture_id"]}
    assert {m["value"]["capture_id"] for m in shown} == expected
    assert all(m["topic"] == RECORDS.name(topic_prefix) for m in shown)


REDRIVE = ["dlq", "redrive", "--json"]


def dead_letter(
    source: str, raw: bytes, workspace: str, reason: str, offset: int
) -> bytes:
    """A processor dead letter of ``raw``, as if read from ``source``."""
    return codec.encode(
        "dead_letter",
        {
            "stage": "processor",
            "reason": f"{reason}: test",
            "error_type": "LookupError",
            "topic": source,
            "partition": 0,
            "offset": offset,
            "key": f"key-{offset}".encode(),
            "value": raw,
            "workspace_id": workspace,
            "failed_at": datetime.now(UTC),
        },
    )


def read_all(
    bootstrap: str, topic: str, partitions: int, expected: int
) -> list[tuple[bytes, bytes]]:
    """Every (key, value) of a topic that must hold exactly ``expected``."""
    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": "reader",
            "enable.auto.commit": False,
        }
    )
    consumer.assign([TopicPartition(topic, p, 0) for p in range(partitions)])
    found = []
    total = sum(
        consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=10)[1]
        for p in range(partitions)
    )
    assert total == expected, f"{topic} holds {total} messages"
    deadline = time.monotonic() + 30
    while len(found) < expected and time.monotonic() < deadline:
        message = consumer.poll(0.5)
        if message is not None and message.error() is None:
            found.append((message.key(), message.value()))
    consumer.close()
    return found


def test_dlq_lists_by_workspace_and_reason_and_redrives_original_bytes(
    kafka_bootstrap: str, topic_prefix: str
) -> None:
    """Counts group by workspace and reason; redrive republishes the exact bytes."""
    raw_topic = SIGNALS_RAW.name(topic_prefix)
    letters = [
        ("ws-a", "unknown_workspace", b"\xc3\x01raw-one"),
        ("ws-a", "unknown_workspace", b"\xc3\x01raw-two"),
        ("ws-b", "undecodable", b"garbage"),
    ]
    producer = Producer({"bootstrap.servers": kafka_bootstrap})
    for offset, (workspace, reason, raw) in enumerate(letters):
        value = dead_letter(raw_topic, raw, workspace, reason, offset)
        producer.produce(SIGNALS_DLQ.name(topic_prefix), value=value)
    assert producer.flush(30) == 0
    env = ops_env(kafka_bootstrap, topic_prefix)

    listed = json.loads(unstuck(["dlq", "list", "--json"], env).stdout)
    shown = json.loads(unstuck(["dlq", "show", "--workspace", "ws-b"], env).stdout)
    redriven = json.loads(
        unstuck(
            [*REDRIVE, "--workspace", "ws-a", "--reason", "unknown_workspace"],
            env,
        ).stdout
    )

    counts = {(r["workspace_id"], r["reason"]): r["count"] for r in listed}
    assert counts == {("ws-a", "unknown_workspace"): 2, ("ws-b", "undecodable"): 1}
    assert [s["reason"] for s in shown] == ["undecodable: test"]
    assert "error" in shown[0]["original"]
    assert redriven["redriven"] == 2
    republished = read_all(kafka_bootstrap, raw_topic, SIGNALS_RAW.partitions, 2)
    assert sorted(republished) == [
        (b"key-0", b"\xc3\x01raw-one"),
        (b"key-1", b"\xc3\x01raw-two"),
    ]
