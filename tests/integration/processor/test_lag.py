"""The running worker exports its consumer lag, and the lag drains as it works."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable

from schemas.topics import SIGNALS_RAW
from tests.integration.processor.conftest import Stack
from tests.integration.processor.kafka_io import produce, raw_signal, scrape

BACKLOG = 6_000


def _lag(port: int) -> tuple[float, float]:
    """Messages and seconds of lag summed over the partitions the worker owns."""
    metrics = scrape(port)
    messages = sum(
        value
        for name, value in metrics.items()
        if name.startswith("unstuck_processor_consumer_lag_messages{")
    )
    seconds = max(
        (
            value
            for name, value in metrics.items()
            if name.startswith("unstuck_processor_consumer_lag_seconds{")
        ),
        default=0.0,
    )
    return messages, seconds


def test_lag_in_messages_and_seconds_rises_with_a_backlog_then_drains(
    make_stack: Callable[..., Stack],
) -> None:
    """A backlog written while the worker waits shows as lag, then falls to zero."""
    stack = make_stack(sink=False)
    worker = stack.start_worker()
    port = stack.metrics_ports[worker.pid]
    workspace = stack.workspace()["workspace_id"]
    stack.wait_stable()
    raw_topic = stack.topic(SIGNALS_RAW.base_name)

    produce(
        stack.bootstrap,
        raw_topic,
        [
            raw_signal(workspace, f"lag-{n}-{uuid.uuid4().hex[:6]}@example.com")
            for n in range(BACKLOG)
        ],
    )
    readings = []
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        readings.append(_lag(port))
        if readings[-1] == (0.0, 0.0) and max(m for m, _ in readings) > 0:
            break
        time.sleep(0.25)

    peak_messages = max(m for m, _ in readings)
    peak_seconds = max(s for _, s in readings)
    assert worker.poll() is None
    assert 0 < peak_messages <= BACKLOG
    assert peak_seconds > 0
    assert readings[-1] == (0.0, 0.0)
