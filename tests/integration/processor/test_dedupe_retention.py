"""The dedupe table forgets keys past their window, and storage still holds once."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest

from schemas.topics import RECORDS, SIGNALS_RAW
from tests.integration.processor.conftest import Stack
from tests.integration.processor.kafka_io import (
    TopicReader,
    capture_of,
    decoded,
    live_keys,
    produce,
    raw_signal,
    scrape,
)

SHORT_WINDOW_DAYS = 1


@pytest.fixture(scope="module")
def stack(make_stack: Callable[..., Stack]) -> Stack:
    """One worker sweeping every second, one workspace with a one-day window."""
    short = str(uuid.uuid4())
    windows = {short: SHORT_WINDOW_DAYS * 86_400}
    running = make_stack(
        UNSTUCK_DEDUPE_SWEEP_INTERVAL_SECONDS="1",
        UNSTUCK_DEDUPE_RETENTION_BY_WORKSPACE=json.dumps(windows),
    )
    running.workspace(workspace_id=short)
    running.start_worker()
    return running


def keys_of(bootstrap: str, changelog: str, workspace_id: str) -> set[bytes]:
    return {
        k
        for k in live_keys(bootstrap, changelog)
        if k.startswith(workspace_id.encode())
    }


def wait_until(predicate: Callable[[], bool], timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.5)
    raise TimeoutError("condition not met in time")


def test_keys_past_their_window_leave_the_table(stack: Stack) -> None:
    """Old keys are swept and tombstoned per workspace window; fresh ones stay."""
    default = stack.workspace()["workspace_id"]
    short = next(
        iter(
            json.loads(
                stack.pipeline.extra_env["UNSTUCK_DEDUPE_RETENTION_BY_WORKSPACE"]
            )
        )
    )
    now = datetime.now(UTC)
    old = [
        raw_signal(default, f"old{i}@example.com", now - timedelta(days=31))
        for i in range(20)
    ]
    kept = [
        raw_signal(default, f"new{i}@example.com", now - timedelta(days=2))
        for i in range(5)
    ]
    short_old = [
        raw_signal(short, f"s{i}@example.com", now - timedelta(days=2))
        for i in range(5)
    ]
    records = TopicReader(stack.bootstrap, stack.topic(RECORDS.base_name))

    produce(
        stack.bootstrap, stack.topic(SIGNALS_RAW.base_name), [*old, *kept, *short_old]
    )
    records.wait_for(lambda m: len({x.key for x in m}) >= 30)
    wait_until(
        lambda: (
            len(keys_of(stack.bootstrap, stack.changelog, short)) == 0
            and len(keys_of(stack.bootstrap, stack.changelog, default)) == 5
        )
    )

    port = next(iter(stack.metrics_ports.values()))
    wait_until(lambda: scrape(port)["unstuck_processor_dedupe_keys"] == 5.0, 30)
    remaining = keys_of(stack.bootstrap, stack.changelog, default)
    assert remaining == {message[0] for message in kept}
    assert scrape(port)["unstuck_processor_dedupe_expired_total"] >= 25
    records.close()


def test_second_capture_past_the_window_is_refused_by_storage(stack: Stack) -> None:
    """A repeat after its key expired is re-emitted, yet PostgreSQL holds one row."""
    workspace = stack.workspace()["workspace_id"]
    long_ago = datetime.now(UTC) - timedelta(days=40)
    message = raw_signal(workspace, "again@example.com", long_ago)
    capture = capture_of(message)
    records = TopicReader(stack.bootstrap, stack.topic(RECORDS.base_name))
    raw_topic = stack.topic(SIGNALS_RAW.base_name)

    produce(stack.bootstrap, raw_topic, [message])
    wait_until(lambda: stack.rows([capture]) == 1)
    wait_until(lambda: message[0] not in live_keys(stack.bootstrap, stack.changelog))
    produce(stack.bootstrap, raw_topic, [message])
    records.wait_for(
        lambda m: sum(r["capture_id"] == capture for r in decoded(m, "record")) == 2
    )
    stack.wait_sink_caught_up()

    assert stack.rows([capture]) == 1
    records.close()
