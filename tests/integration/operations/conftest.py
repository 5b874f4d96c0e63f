"""Helpers of the operator tests: run ``unstuck`` as a real process, build values."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from confluent_kafka import Producer

from schemas import codec

UNSTUCK = str(Path(sys.executable).parent / "unstuck")
REPO = Path(__file__).resolve().parents[3]


def ops_env(bootstrap: str, prefix: str, **extra: str) -> dict[str, str]:
    """The environment of a CLI run, isolated from any local dev.env."""
    env = dict(os.environ)
    env.update(
        {
            "KAFKA_BOOTSTRAP_SERVERS": bootstrap,
            "UNSTUCK_TOPIC_PREFIX": prefix,
            "UNSTUCK_DATA_DIR": str(REPO / ".no-such-dev-dir"),
            "UNSTUCK_LOG_LEVEL": "WARNING",
        }
    )
    env.update(extra)
    return env


def unstuck(
    args: list[str], env: dict[str, str], timeout: float = 60.0
) -> subprocess.CompletedProcess[str]:
    """Run one ``unstuck`` verb and fail with its output if it fails."""
    result = subprocess.run(
        [UNSTUCK, *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result


def sample_record(
    workspace_id: str, signal_type: str = "custom_event"
) -> dict[str, Any]:
    """A record as the processor emits it, with only the required fields set."""
    now = datetime.now(UTC)
    identity = {"email": "ada@example.com", "company_domain": "example.com"}
    return {
        "capture_id": str(uuid.uuid4()),
        "workspace_id": workspace_id,
        "lead_id": str(uuid.uuid4()),
        "lead_kind": "person",
        "dedupe_key": uuid.uuid4().hex,
        "signal_type": signal_type,
        "source": "operations-test",
        "occurred_at": now,
        "received_at": now,
        "processed_at": now,
        "identity": identity,
        "identity_normalized": identity,
    }


def produce_records(bootstrap: str, topic: str, records: list[dict[str, Any]]) -> None:
    """Write encoded records keyed by capture id, and wait for the broker."""
    producer = Producer({"bootstrap.servers": bootstrap, "enable.idempotence": True})
    for record in records:
        producer.produce(
            topic,
            key=record["capture_id"].encode(),
            value=codec.encode("record", record),
        )
    assert producer.flush(30) == 0
