"""Poison messages on the raw topic never stop a partition (field case B11)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from schemas import keys
from schemas.identity import canonicalize
from schemas.instant import parse_instant
from schemas.topics import RECORDS, SIGNALS_DLQ, SIGNALS_RAW
from stream_processors.plain import WORKSPACE_HEADER
from tests.integration.processor.conftest import Stack
from tests.integration.processor.kafka_io import (
    Headers,
    TopicReader,
    decoded,
    produce,
)

B11 = json.loads((Path(__file__).parent / "b11_messages.json").read_text())


def b11_values() -> list[bytes]:
    """The five B11 messages as an old client would have written them."""
    return [
        m["value_raw"].encode() if "value_raw" in m else json.dumps(m["value"]).encode()
        for m in B11
    ]


def test_b11_poison_is_dead_lettered_and_the_valid_signal_is_captured(
    make_stack: Callable[..., Stack],
) -> None:
    """Messages 1-4 are dead-lettered with bytes and reason; message 5 is captured."""
    stack = make_stack(sink=False)
    stack.start_worker()
    workspace: dict[str, Any] = stack.workspace()
    headers: Headers = {WORKSPACE_HEADER: workspace["workspace_id"].encode()}
    values = b11_values()
    dlq = TopicReader(stack.bootstrap, stack.topic(SIGNALS_DLQ.base_name))
    records = TopicReader(stack.bootstrap, stack.topic(RECORDS.base_name))

    raw_topic = stack.topic(SIGNALS_RAW.base_name)
    produce(stack.bootstrap, raw_topic, [(None, v, headers) for v in values], 0)
    letters = decoded(dlq.wait_for(lambda m: len(m) >= 4, 120), "dead_letter")
    stored = decoded(records.wait_for(lambda m: len(m) >= 1, 60), "record")

    valid = B11[4]["value"]
    instant = parse_instant(valid["occurred_at"], now=stored[0]["received_at"])
    dedupe_key = keys.dedupe_key(
        workspace["workspace_id"],
        valid["signal_type"],
        valid["source"],
        canonicalize(valid["identity"]),
        instant,
    )
    assert [letter["value"] for letter in letters] == values[:4]
    assert [letter["offset"] for letter in letters] == [0, 1, 2, 3]
    assert {(letter["topic"], letter["partition"]) for letter in letters} == {
        (raw_topic, 0)
    }
    assert letters[0]["reason"].startswith("invalid_json")
    assert letters[1]["reason"].startswith("invalid_signal: identity")
    assert letters[2]["reason"].startswith("invalid_signal: occurred_at")
    assert letters[3]["reason"].startswith("invalid_signal: context")
    assert [r["capture_id"] for r in stored] == [keys.capture_id(dedupe_key)]
    assert stored[0]["identity_normalized"]["email"] == "after.poison@example.com"
    dlq.close()
    records.close()
