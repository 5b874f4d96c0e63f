"""Processor workers (and the records sink) on topic prefixes of their own."""

from __future__ import annotations

import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from deploy.local_kafka import pick_port
from schemas.topic_setup import ensure_topics
from schemas.topics import RECORDS
from schemas.workspace import new_workspace, publish_workspace
from sinks.records.migrate import migrate
from tests.integration.pipeline.processes import Pipeline
from tests.integration.processor.kafka_io import owned_partitions


@dataclass
class Stack:
    """Workers of one processor group and a records sink, on a fresh prefix."""

    pipeline: Pipeline
    metrics_ports: dict[int, int] = field(default_factory=dict)

    @property
    def bootstrap(self) -> str:
        return self.pipeline.kafka_bootstrap

    @property
    def prefix(self) -> str:
        return self.pipeline.prefix

    def topic(self, base: str) -> str:
        return f"{self.prefix}{base}"

    @property
    def changelog(self) -> str:
        return f"{self.prefix}{self.prefix}processor-dedupe-changelog"

    def start_worker(self) -> subprocess.Popen[bytes]:
        """One more processor worker, with its own metrics port."""
        port = pick_port(0)
        self.pipeline.extra_env["UNSTUCK_METRICS_PORT"] = str(port)
        process = self.pipeline.start("processor")
        self.metrics_ports[process.pid] = port
        return process

    def workers(self) -> list[subprocess.Popen[bytes]]:
        return [p for p in self.pipeline.processes.get("processor", []) if not p.poll()]

    def wait_stable(self, timeout: float = 90.0) -> None:
        """Wait until the live workers own every raw partition between them."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            live = [p for p in self.workers() if p.poll() is None]
            owned = [owned_partitions(self.metrics_ports[p.pid]) for p in live]
            if all(owned) and sum(len(o) for o in owned) == 6:
                return
            time.sleep(0.5)
        raise TimeoutError(f"group not stable; logs in {self.pipeline.log_dir}")

    def workspace(self, **changes: Any) -> dict[str, Any]:
        """Publish a fresh workspace and return its record."""
        config, _key = new_workspace(f"proc-{uuid.uuid4().hex[:8]}")
        config.update(changes)
        publish_workspace(self.bootstrap, self.prefix, config)
        return config

    def update(self, config: dict[str, Any]) -> None:
        publish_workspace(self.bootstrap, self.prefix, config)

    def rows(self, capture_ids: list[str]) -> int:
        """How many of these captures PostgreSQL holds."""
        import psycopg

        with psycopg.connect(self.pipeline.database_url) as connection:
            row = connection.execute(
                "SELECT count(*) FROM signal_captures WHERE capture_id::text = ANY(%s)",
                (capture_ids,),
            ).fetchone()
        return int(row[0]) if row else 0

    def wait_sink_caught_up(self, timeout: float = 60.0) -> None:
        """Wait until the records sink has committed the end of the records topic."""
        from confluent_kafka import Consumer, TopicPartition

        topic = self.topic(RECORDS.base_name)
        group = f"{self.prefix}sink-records"
        probe = Consumer({"bootstrap.servers": self.bootstrap, "group.id": group})
        partitions = [TopicPartition(topic, p) for p in range(RECORDS.partitions)]
        deadline = time.monotonic() + timeout
        try:
            while time.monotonic() < deadline:
                committed = probe.committed(partitions, timeout=10)
                ends = [
                    probe.get_watermark_offsets(tp, timeout=10)[1] for tp in partitions
                ]
                if all(
                    c.offset >= end
                    for c, end in zip(committed, ends, strict=True)
                    if end > 0
                ):
                    return
                time.sleep(0.3)
        finally:
            probe.close()
        raise TimeoutError("records sink did not catch up")


@pytest.fixture(scope="module")
def make_stack(
    kafka_bootstrap: str, database_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Callable[..., Stack]]:
    """A factory of stacks; every process they start is stopped at module end."""
    migrate(database_url)
    stacks: list[Stack] = []

    def make(sink: bool = True, **env: str) -> Stack:
        prefix = f"p{uuid.uuid4().hex[:10]}."
        ensure_topics(kafka_bootstrap, prefix)
        logs: Path = tmp_path_factory.mktemp("processor-logs")
        pipeline = Pipeline(
            kafka_bootstrap,
            database_url,
            prefix,
            logs,
            extra_env={
                "UNSTUCK_DATA_DIR": str(logs / "data"),
                "UNSTUCK_LAG_INTERVAL_SECONDS": "0.5",
                "UNSTUCK_SESSION_TIMEOUT_SECONDS": "8",
                **env,
            },
        )
        stack = Stack(pipeline)
        stacks.append(stack)
        if sink:
            pipeline.start("sink-records")
        return stack

    yield make
    for stack in stacks:
        stack.pipeline.stop_all()
