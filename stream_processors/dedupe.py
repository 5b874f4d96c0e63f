"""Deciding what a signal is, given what the dedupe table already holds for its key."""

from __future__ import annotations

from enum import StrEnum
from typing import Any


class Seen(StrEnum):
    """How a raw message relates to the first capture of its dedupe key."""

    NEW = "new"
    # The same message read again after a rebalance or a crash: its outputs may not
    # have left, so they are emitted again and the idempotent stages absorb them.
    REPLAY = "replay"
    DUPLICATE = "duplicate"
    CONFLICT = "conflict"


def classify(
    entry: dict[str, Any] | None, raw: dict[str, Any], partition: int, offset: int
) -> Seen:
    """Place a message against the table entry of its key."""
    if entry is None:
        return Seen.NEW
    if entry["partition"] == partition and entry["offset"] == offset:
        return Seen.REPLAY
    if raw.get("idempotency_key") and entry["body_sha256"] != raw["body_sha256"]:
        return Seen.CONFLICT
    return Seen.DUPLICATE


def table_entry(
    raw: dict[str, Any],
    partition: int,
    offset: int,
    matched_record_id: str,
    qualification: dict[str, Any] | None,
) -> dict[str, Any]:
    """What the table keeps of a first capture: enough to answer its duplicates."""
    return {
        "capture_id": raw["capture_id"],
        "body_sha256": raw["body_sha256"],
        "partition": partition,
        "offset": offset,
        "matched_record_id": matched_record_id,
        "qualification": qualification,
        "first_seen_us": int(raw["received_at"].timestamp() * 1_000_000),
    }
