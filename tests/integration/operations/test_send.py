"""``unstuck send`` pushes a 10,000-row vendor feed and accounts for every row."""

from __future__ import annotations

import json
import subprocess
import uuid
from pathlib import Path
from typing import Any

from schemas.workspace import new_workspace, publish_workspace
from tests.integration.conftest import Workspace
from tests.integration.operations.conftest import UNSTUCK, ops_env
from tests.integration.pipeline.processes import Pipeline

ROWS = 10_000
INVALID = 5
DUPLICATES = 3
BROKEN_LINES = 2


def signal(number: int) -> dict[str, Any]:
    return {
        "signal_type": "custom_event",
        "source": "vendor-feed",
        "event_name": "visited_pricing",
        "occurred_at": f"2026-10-01T{number // 3600 % 24:02d}:{number // 60 % 60:02d}"
        f":{number % 60:02d}Z",
        "identity": {"email": f"person{number}@feed-test.example.com"},
        "context": {"row": number},
    }


def feed_lines() -> list[str]:
    """Unique signals, then rows that must be rejected or counted as repeats."""
    unique = ROWS - INVALID - DUPLICATES - BROKEN_LINES
    lines = [json.dumps(signal(n)) for n in range(unique)]
    lines += [json.dumps(signal(n)) for n in range(DUPLICATES)]
    lines += [json.dumps({"signal_type": "custom_event"})] * INVALID
    lines += ["{not json"] * BROKEN_LINES
    return lines


def fast_workspace(pipeline: Pipeline) -> Workspace:
    """A workspace with a raised budget and no webhook, known to the gateway."""
    config, api_key = new_workspace(f"feed-{uuid.uuid4().hex[:8]}")
    config["rate_limit_per_minute"] = 50_000
    config["rate_limit_per_day"] = 1_000_000
    publish_workspace(pipeline.kafka_bootstrap, pipeline.prefix, config)
    workspace = Workspace(pipeline, config, api_key)
    workspace.wait_known()
    return workspace


def test_send_of_ten_thousand_rows_summarizes_every_row(
    pipeline: Pipeline, tmp_path: Path
) -> None:
    """Accepted, duplicate and rejected add up to the rows, with reasons.

    The rejected rows make the exit status 1, whatever was accepted.
    """
    workspace = fast_workspace(pipeline)
    feed = tmp_path / "feed.jsonl"
    feed.write_text("\n".join(feed_lines()) + "\n", encoding="utf-8")
    env = ops_env(
        pipeline.kafka_bootstrap,
        pipeline.prefix,
        UNSTUCK_URL=pipeline.url,
        UNSTUCK_API_KEY=workspace.api_key,
    )

    result = subprocess.run(
        [UNSTUCK, "send", str(feed), "--batch-size", "1000", "--json"],
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )

    assert result.returncode == 1, result.stdout + result.stderr
    summary = json.loads(result.stdout)
    assert summary["rows"] == ROWS
    assert summary["accepted"] == ROWS - INVALID - DUPLICATES - BROKEN_LINES
    assert summary["duplicate"] == DUPLICATES
    assert summary["rejected"] == INVALID + BROKEN_LINES
    assert summary["reasons"] == {
        "invalid_signal": INVALID,
        "invalid_json": BROKEN_LINES,
    }
    assert [r["row"] for r in summary["rejections"]] == list(
        range(ROWS - INVALID - BROKEN_LINES + 1, ROWS + 1)
    )
    invalid = summary["rejections"][0]
    assert invalid["reason"] == "invalid_signal"
    assert {f["field"] for f in invalid["fields"]} >= {"occurred_at", "identity"}
    assert f"sent {ROWS}/{ROWS} rows" in result.stderr
