"""The dedupe table's verdicts and what it keeps of a first capture."""

from __future__ import annotations

from stream_processors.dedupe import Seen, classify, table_entry
from tests.unit.processor.helpers import RECEIVED, raw_signal


def first_entry() -> dict[str, object]:
    return table_entry(raw_signal(), 3, 41, "lead-1", None)


def test_unknown_key_is_new() -> None:
    """A key the table has never held is a new capture."""
    assert classify(None, raw_signal(), 0, 0) is Seen.NEW


def test_same_partition_and_offset_is_a_replay() -> None:
    """The message that wrote the entry, read again, is a replay to re-emit."""
    assert classify(first_entry(), raw_signal(), 3, 41) is Seen.REPLAY


def test_another_message_with_the_key_is_a_duplicate() -> None:
    """A second message with the same key is a duplicate of the first capture."""
    assert classify(first_entry(), raw_signal(), 3, 42) is Seen.DUPLICATE


def test_reused_idempotency_key_with_another_body_is_a_conflict() -> None:
    """An idempotency key reused with another body is a conflict, not a repeat."""
    entry = table_entry(raw_signal(idempotency_key="k1"), 0, 1, "lead-1", None)
    again = raw_signal(idempotency_key="k1", body_sha256="f" * 64)

    assert classify(entry, again, 0, 2) is Seen.CONFLICT


def test_reused_idempotency_key_with_the_same_body_is_a_duplicate() -> None:
    """A retry under an idempotency key with an unchanged body is a duplicate."""
    entry = table_entry(raw_signal(idempotency_key="k1"), 0, 1, "lead-1", None)

    assert classify(entry, raw_signal(idempotency_key="k1"), 0, 2) is Seen.DUPLICATE


def test_entry_keeps_what_a_duplicate_answer_needs() -> None:
    """The entry holds the first capture id, its lead, its qualification and age."""
    raw = raw_signal()
    qualification = {"icp_code": "SMB"}

    entry = table_entry(raw, 2, 7, "lead-9", qualification)

    expected = {
        "capture_id": raw["capture_id"],
        "body_sha256": raw["body_sha256"],
        "partition": 2,
        "offset": 7,
        "matched_record_id": "lead-9",
        "qualification": qualification,
        "first_seen_us": int(RECEIVED.timestamp() * 1_000_000),
    }
    assert entry == expected
