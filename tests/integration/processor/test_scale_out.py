"""Workers join and die mid-stream; nothing is lost and nothing is stored twice."""

from __future__ import annotations

import json
import signal
from collections.abc import Callable
from datetime import UTC, datetime

from schemas.topics import RECORDS, SIGNALS_RAW
from stream_processors.plain import WORKSPACE_HEADER
from tests.integration.processor.conftest import Stack
from tests.integration.processor.kafka_io import (
    Headers,
    TopicReader,
    capture_of,
    produce,
    raw_signal,
)

SIGNALS = 10_000
B08_EMAILS = ("ana@example.com", "ben@example.com", "cho@example.com")


def b08_body(email: str) -> bytes:
    """One of B08's three bodies, as plain JSON on the raw topic."""
    return json.dumps(
        {
            "signal_type": "website_visit",
            "source": "web_tracker",
            "event_name": "pricing_page_viewed",
            "occurred_at": "2024-05-01T12:00:00Z",
            "identity": {
                "email": email,
                "linkedin_url": "https://www.linkedin.com/in/jane-doe-example",
                "company_domain": "example.com",
                "first_name": "Jane",
                "last_name": "Doe",
                "title": "VP of Marketing",
            },
            "context": {"page_url": "https://example.com/pricing"},
        }
    ).encode()


def distinct_captures(records: TopicReader) -> set[str]:
    """Capture ids seen on the records topic, which is keyed by them."""
    return {m.key.decode() for m in records.messages if m.key is not None}


def test_b08_rebalance_before_commit_and_sigkill_mid_stream(
    make_stack: Callable[..., Stack],
) -> None:
    """B08 then 10,000 signals with a SIGKILL: every capture once, in Kafka and PG."""
    stack = make_stack(UNSTUCK_COMMIT_INTERVAL_SECONDS="30")
    first = stack.start_worker()
    workspace = stack.workspace()["workspace_id"]
    raw_topic = stack.topic(SIGNALS_RAW.base_name)
    records = TopicReader(stack.bootstrap, stack.topic(RECORDS.base_name))
    headers: Headers = {WORKSPACE_HEADER: workspace.encode()}

    produce(
        stack.bootstrap, raw_topic, [(None, b08_body(e), headers) for e in B08_EMAILS]
    )
    records.wait_for(lambda m: len(m) >= 3, 120)
    stack.start_worker()
    stack.wait_stable()
    b08 = distinct_captures(records)

    now = datetime.now(UTC)
    batch = [raw_signal(workspace, f"w{i}@example.com", now) for i in range(SIGNALS)]
    produce(stack.bootstrap, raw_topic, batch)
    records.wait_for(lambda m: len(m) >= 3 + SIGNALS // 5, 120)
    first.send_signal(signal.SIGKILL)
    expected = {capture_of(m) for m in batch} | b08
    records.wait_for(lambda _m: distinct_captures(records) >= expected, 180)
    stack.wait_sink_caught_up(120)

    assert len(b08) == 3
    assert distinct_captures(records) == expected
    assert stack.rows(sorted(expected)) == SIGNALS + 3
    records.close()
