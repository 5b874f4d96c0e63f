"""One dedupe key, one partition, whoever writes it."""

from __future__ import annotations

import time
import uuid

import aiohttp
from aiokafka.partitioner import murmur2  # type: ignore[import-untyped]
from confluent_kafka import OFFSET_BEGINNING, Consumer, TopicPartition

from schemas import codec
from schemas.topics import SIGNALS_RAW
from tests.integration.conftest import Workspace


def raw_placements(
    workspace: Workspace, capture_ids: list[str]
) -> dict[str, tuple[int, bytes]]:
    """Where the gateway wrote each capture on signals.raw, and under which key."""
    pipeline = workspace.pipeline
    topic = SIGNALS_RAW.name(pipeline.prefix)
    consumer = Consumer(
        {
            "bootstrap.servers": pipeline.kafka_bootstrap,
            "group.id": f"partitioning-{uuid.uuid4().hex}",
            "enable.auto.commit": False,
        }
    )
    consumer.assign(
        [
            TopicPartition(topic, p, OFFSET_BEGINNING)
            for p in range(SIGNALS_RAW.partitions)
        ]
    )
    wanted = set(capture_ids)
    found: dict[str, tuple[int, bytes]] = {}
    try:
        deadline = time.monotonic() + 60
        while wanted - found.keys() and time.monotonic() < deadline:
            for message in consumer.consume(1000, 0.5):
                if message.error() is not None or message.value() is None:
                    continue
                value = codec.decode("signal_raw", message.value())
                if value["capture_id"] in wanted:
                    placement = (int(message.partition() or 0), bytes(message.key()))
                    found[value["capture_id"]] = placement
    finally:
        consumer.close()
    return found


async def test_gateway_partitions_like_faust_and_java(workspace: Workspace) -> None:
    """The gateway places keys where murmur2 (Faust, Java clients) would."""
    bodies = [
        {
            "signal_type": "website_visit",
            "source": "partitioning",
            "occurred_at": "2026-11-20T09:30:00Z",
            "identity": {"email": f"p{uuid.uuid4().hex[:8]}@example.com"},
        }
        for _ in range(5)
    ]
    capture_ids = []
    async with aiohttp.ClientSession(headers=workspace.headers) as session:
        for body in bodies:
            url = f"{workspace.pipeline.url}/signals"
            async with session.post(url, json=body) as response:
                capture_ids.append((await response.json())["signal_capture_id"])

    found = raw_placements(workspace, capture_ids)
    placed = [found[capture_id] for capture_id in capture_ids]

    expected = [
        (murmur2(key) & 0x7FFFFFFF) % SIGNALS_RAW.partitions for _, key in placed
    ]
    assert [partition for partition, _ in placed] == expected
