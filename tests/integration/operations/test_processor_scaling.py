"""Two ``unstuck processor`` processes started by hand share the raw partitions."""

from __future__ import annotations

import signal
import subprocess
import time
from pathlib import Path
from typing import Any

from confluent_kafka.admin import AdminClient

from schemas.topics import SIGNALS_RAW
from tests.integration.operations.conftest import UNSTUCK, ops_env


def raw_assignment(admin: AdminClient, group: str, topic: str) -> list[set[int]]:
    """The raw-topic partitions each live member of ``group`` owns."""
    future = admin.describe_consumer_groups([group], request_timeout=10)[group]
    if future.exception() is not None:
        return []
    owned: list[set[int]] = []
    for member in future.result().members:
        partitions = member.assignment.topic_partitions if member.assignment else []
        owned.append({tp.partition for tp in partitions if tp.topic == topic})
    return owned


def wait_for_split(admin: AdminClient, group: str, topic: str) -> list[set[int]]:
    """Poll until two members each own part of the topic, or give up."""
    deadline = time.monotonic() + 150
    owned: list[set[int]] = []
    while time.monotonic() < deadline:
        owned = raw_assignment(admin, group, topic)
        if len(owned) == 2 and all(owned):
            return owned
        time.sleep(1)
    raise AssertionError(f"partitions never split between two members: {owned}")


def test_two_processors_share_the_raw_partitions(
    kafka_bootstrap: str, topic_prefix: str, tmp_path: Path
) -> None:
    """Each worker gets a disjoint, non-empty share, together all six partitions."""
    topic = SIGNALS_RAW.name(topic_prefix)
    group = f"{topic_prefix}processor"
    workers: list[subprocess.Popen[Any]] = []
    for number in range(2):
        env = ops_env(
            kafka_bootstrap,
            topic_prefix,
            UNSTUCK_PROCESSOR_ID="processor",
            UNSTUCK_DATA_DIR=str(tmp_path / f"worker-{number}"),
        )
        log = (tmp_path / f"worker-{number}.log").open("wb")
        workers.append(
            subprocess.Popen(
                [UNSTUCK, "processor"], env=env, stdout=log, stderr=subprocess.STDOUT
            )
        )
        log.close()

    try:
        owned = wait_for_split(
            AdminClient({"bootstrap.servers": kafka_bootstrap}), group, topic
        )
    finally:
        for worker in workers:
            worker.send_signal(signal.SIGTERM)
        for worker in workers:
            try:
                worker.wait(30)
            except subprocess.TimeoutExpired:
                worker.kill()
                worker.wait()

    first, second = owned
    assert first.isdisjoint(second)
    assert first | second == set(range(SIGNALS_RAW.partitions))
