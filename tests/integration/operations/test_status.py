"""``unstuck status`` reports lag that follows a consumer group as it works."""

from __future__ import annotations

import json
from typing import Any

from confluent_kafka import Consumer

from schemas.topics import RECORDS
from tests.integration.operations.conftest import (
    ops_env,
    produce_records,
    sample_record,
    unstuck,
)


def status_of(env: dict[str, str], group: str) -> dict[str, Any]:
    """The JSON status and the entry of one group in it."""
    document = json.loads(
        unstuck(["status", "--json", "--interval", "0.5"], env).stdout
    )
    found = [g for g in document["groups"] if g["group_id"] == group]
    assert found, document["groups"]
    return {"report": document, "group": found[0]}


def consume(consumer: Consumer, count: int) -> None:
    """Read ``count`` messages and commit them, as a worker would."""
    taken = 0
    while taken < count:
        message = consumer.poll(10)
        assert message is not None, "no message within 10 s"
        assert message.error() is None
        taken += 1
    consumer.commit(asynchronous=False)


def test_status_lag_moves_while_a_stream_runs(
    kafka_bootstrap: str, topic_prefix: str
) -> None:
    """Lag grows with production, shrinks with consumption, and shows the worker."""
    topic = RECORDS.name(topic_prefix)
    group = f"{topic_prefix}subscriber"
    env = ops_env(kafka_bootstrap, topic_prefix)
    produce_records(kafka_bootstrap, topic, [sample_record("ws") for _ in range(60)])
    consumer = Consumer(
        {
            "bootstrap.servers": kafka_bootstrap,
            "group.id": group,
            "auto.offset.reset": "earliest",
            "enable.auto.commit": False,
            "client.id": "status-test-worker",
        }
    )
    consumer.subscribe([topic])

    try:
        consume(consumer, 20)
        first = status_of(env, group)
        produce_records(
            kafka_bootstrap, topic, [sample_record("ws") for _ in range(30)]
        )
        second = status_of(env, group)
        consume(consumer, 70)
        third = status_of(env, group)
    finally:
        consumer.close()

    assert first["group"]["lag_messages"] == 40
    assert first["group"]["lag_seconds"] is not None
    assert first["group"]["lag_seconds"] >= 0
    assert second["group"]["lag_messages"] == 70
    assert third["group"]["lag_messages"] == 0
    assert third["group"]["lag_seconds"] == 0
    members = first["group"]["members"]
    assert [m["client_id"] for m in members] == ["status-test-worker"]
    assert len(members[0]["assignment"]) == RECORDS.partitions
    records_row = next(t for t in third["report"]["topics"] if t["name"] == topic)
    assert records_row["end_offset"] == 90


def test_status_renders_tables_for_people(
    kafka_bootstrap: str, topic_prefix: str
) -> None:
    """Without --json the same facts come out as readable tables."""
    env = ops_env(kafka_bootstrap, topic_prefix, COLUMNS="200")

    output = unstuck(["status", "--interval", "0"], env).stdout

    assert "consumer groups" in output
    assert f"{topic_prefix}records" in output
    assert "dead letters retained" in output
