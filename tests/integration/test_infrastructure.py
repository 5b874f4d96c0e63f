"""The real servers every integration test stands on behave as the pipeline needs."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from pathlib import Path

import psycopg
import pytest
from confluent_kafka import Consumer, Message, Producer
from confluent_kafka.admin import AdminClient

# confluent-kafka's admin package re-exports these without an __all__, so mypy's
# strict mode only accepts them from the modules that define them.
from confluent_kafka.admin._config import ConfigResource
from confluent_kafka.admin._resource import ResourceType
from confluent_kafka.cimpl import NewTopic

from deploy.local_kafka import LocalKafka
from deploy.local_postgres import LocalPostgres
from schemas import topics
from schemas.topic_setup import ensure_topics


def _create_topic(bootstrap: str, name: str) -> None:
    admin = AdminClient({"bootstrap.servers": bootstrap})
    future = admin.create_topics([NewTopic(name, 1, 1)])[name]
    assert future.exception(timeout=30) is None


def _consume_one(bootstrap: str, topic: str, group: str) -> Message | None:
    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": group,
            "auto.offset.reset": "earliest",
        }
    )
    consumer.subscribe([topic])
    try:
        for _ in range(60):
            message = consumer.poll(1.0)
            if message is not None and message.error() is None:
                return message
    finally:
        consumer.close()
    return None


def _topic_shapes(bootstrap: str, names: list[str]) -> dict[str, tuple[int, str]]:
    """Partition count and cleanup policy of each topic, as the broker reports them."""
    admin = AdminClient({"bootstrap.servers": bootstrap})
    metadata = admin.list_topics(timeout=10)
    resources = [ConfigResource(ResourceType.TOPIC, name) for name in names]
    described = admin.describe_configs(resources, request_timeout=10)

    shapes = {}
    for resource, future in described.items():
        entries = future.result(timeout=10)
        partitions = len(metadata.topics[resource.name].partitions)
        shapes[resource.name] = (partitions, entries["cleanup.policy"].value)
    return shapes


def test_kafka_round_trip(
    kafka_bootstrap: str, unique_name: Callable[[str], str]
) -> None:
    """A message produced with acks=all to a fresh topic is consumed back intact."""
    topic = unique_name("roundtrip")
    _create_topic(kafka_bootstrap, topic)
    producer = Producer({"bootstrap.servers": kafka_bootstrap, "acks": "all"})
    producer.produce(topic, key=b"k1", value=b"hello")
    assert producer.flush(30) == 0

    message = _consume_one(kafka_bootstrap, topic, unique_name("group"))

    assert message is not None
    assert (message.key(), message.value()) == (b"k1", b"hello")


def test_postgres_round_trip(database_url: str) -> None:
    """The session database stores a row and returns it unchanged."""
    table = f"probe_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(database_url) as conn:
        conn.execute(f"CREATE TABLE {table} (id int PRIMARY KEY, note text)")
        conn.execute(f"INSERT INTO {table} VALUES (1, %s)", ("café ✓",))  # noqa: S608
        row = conn.execute(f"SELECT note FROM {table}").fetchone()  # noqa: S608
        conn.execute(f"DROP TABLE {table}")

    assert row == ("café ✓",)


def test_ensure_topics_creates_catalog_shapes(
    kafka_bootstrap: str, unique_name: Callable[[str], str]
) -> None:
    """Every catalog topic gets the catalog's partition count and cleanup policy."""
    prefix = unique_name("cat") + "."
    expected = {
        topic.name(prefix): (topic.partitions, topic.config()["cleanup.policy"])
        for topic in topics.CATALOG
    }

    names = ensure_topics(kafka_bootstrap, prefix)

    assert sorted(expected) == sorted(names)
    assert expected == _topic_shapes(kafka_bootstrap, names)
    assert _topic_shapes(kafka_bootstrap, [prefix + "workspace.config"]) == {
        prefix + "workspace.config": (1, "compact")
    }


def test_ensure_topics_is_idempotent(topic_prefix: str, kafka_bootstrap: str) -> None:
    """Ensuring an already created catalog again succeeds and changes nothing."""
    before = _topic_shapes(
        kafka_bootstrap, [t.name(topic_prefix) for t in topics.CATALOG]
    )

    names = ensure_topics(kafka_bootstrap, topic_prefix)

    assert before == _topic_shapes(kafka_bootstrap, names)


@pytest.mark.parametrize("immediate", [False, True], ids=["clean", "crash"])
def test_local_postgres_restart_keeps_data(tmp_path: Path, immediate: bool) -> None:
    """Committed rows survive a clean or crash stop and start; the URL stays put."""
    server = LocalPostgres(tmp_path / "pg")
    server.start()
    try:
        url_before = server.url
        with psycopg.connect(server.url) as conn:
            conn.execute("CREATE TABLE kept (id int PRIMARY KEY)")
            conn.execute("INSERT INTO kept VALUES (7)")

        server.stop(immediate=immediate)
        with pytest.raises(psycopg.OperationalError):
            psycopg.connect(url_before, connect_timeout=2).close()
        server.start()

        with psycopg.connect(server.url) as conn:
            rows = conn.execute("SELECT id FROM kept").fetchall()
    finally:
        server.stop()

    assert url_before == server.url
    assert rows == [(7,)]


def test_local_kafka_recovers_acked_messages_after_crash(tmp_path: Path) -> None:
    """An acked message is still readable after SIGKILL and restart, same address."""
    broker = LocalKafka(tmp_path / "kafka", port=0, controller_port=0, heap_mb=256)
    broker.start()
    try:
        bootstrap = broker.bootstrap_servers
        _create_topic(bootstrap, "survivor")
        producer = Producer({"bootstrap.servers": bootstrap, "acks": "all"})
        producer.produce("survivor", key=b"k", value=b"kept")
        assert producer.flush(30) == 0
        del producer

        broker.kill()
        broker.start()
        message = _consume_one(broker.bootstrap_servers, "survivor", "after-crash")
    finally:
        broker.stop()

    assert bootstrap == broker.bootstrap_servers
    assert message is not None
    assert message.value() == b"kept"
