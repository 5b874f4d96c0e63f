"""The processor's outputs, encoded with their unions named, are the codec's bytes."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from schemas import codec
from stream_processors.encoding import encode_record, encode_reply
from stream_processors.signal import process_signal
from tests.unit.processor.helpers import raw_signal, workspace

NOW = datetime(2024, 5, 1, 12, 1, tzinfo=UTC)
COMPANY = {
    "domain": "example.com",
    "name": "Example",
    "industry": "software",
    "employees": 5000,
    "country": "US",
    "region": None,
    "technologies": ["python"],
    "funding_total_usd": None,
    "directory_source": "test",
}


def companies(company: dict[str, Any] | None) -> Any:
    return lambda _domain: company


@pytest.mark.parametrize("company", [None, COMPANY])
def test_record_and_reply_bytes_match_the_codec(company: dict[str, Any] | None) -> None:
    """Naming the union branch changes the encoder's work, never the bytes."""
    outcome = process_signal(raw_signal(), workspace(), companies(company), NOW)
    assert outcome.record["qualification"] is not None

    assert encode_record(outcome.record) == codec.encode("record", outcome.record)
    assert encode_reply(outcome.reply) == codec.encode("reply", outcome.reply)
    decoded = codec.decode("record", encode_record(outcome.record))
    assert decoded["qualification"] == outcome.record["qualification"]


def test_unqualified_outputs_match_the_codec() -> None:
    """A null qualification stays the null branch."""
    outcome = process_signal(raw_signal(), workspace(), companies(None), NOW)
    record = {**outcome.record, "qualification": None}
    reply = {**outcome.reply, "qualification": None}

    assert encode_record(record) == codec.encode("record", record)
    assert encode_reply(reply) == codec.encode("reply", reply)


def test_current_writer_decodes_without_resolution() -> None:
    """A message of the current schema names the very schema it is read with."""
    value = encode_reply(
        process_signal(raw_signal(), workspace(), companies(None), NOW).reply
    )

    writer = codec._writers()["reply"][value[2 : codec.HEADER_SIZE]]

    assert writer is codec.schema("reply")
