"""The subscriber example decodes records with only the schemas package."""

from __future__ import annotations

import json
import subprocess
import sys

from schemas.topics import RECORDS
from tests.integration.operations.conftest import REPO, produce_records, sample_record


def test_example_consumer_prints_the_produced_record(
    kafka_bootstrap: str, topic_prefix: str
) -> None:
    """A record produced to records comes out of the example as the same JSON."""
    record = sample_record("ws-example")
    produce_records(kafka_bootstrap, RECORDS.name(topic_prefix), [record])

    result = subprocess.run(
        [
            sys.executable,
            str(REPO / "examples" / "consume_records.py"),
            "--bootstrap",
            kafka_bootstrap,
            "--topic-prefix",
            topic_prefix,
            "--group",
            f"{topic_prefix}example",
            "--max-messages",
            "1",
            "--timeout",
            "60",
        ],
        capture_output=True,
        text=True,
        timeout=90,
        check=False,
    )

    assert result.returncode == 0, result.stderr
    printed = [json.loads(line) for line in result.stdout.splitlines()]
    assert [p["capture_id"] for p in printed] == [record["capture_id"]]
    assert printed[0]["workspace_id"] == "ws-example"
    assert printed[0]["occurred_at"] == record["occurred_at"].isoformat()
