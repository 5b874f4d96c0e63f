"""The dedupe table's retention window: which keys have outlived it.

Faust gives plain tables no time to live, and a windowed table would bucket keys by
time and multiply lookups, so the window is enforced twice over: a key older than
its workspace's window counts as unseen when a signal looks it up, and a periodic
sweep deletes such keys, which writes tombstones to the changelog so the compacted
topic (and every standby rebuilt from it) shrinks too. State is thereby bounded by
the keys of one window plus one sweep interval.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Retention:
    """How long keys are kept: a default window and per-workspace overrides."""

    default_seconds: float
    by_workspace: Mapping[str, float] = field(default_factory=dict)

    def seconds_for(self, workspace_id: str) -> float:
        """The window of one workspace."""
        return self.by_workspace.get(workspace_id, self.default_seconds)


def workspace_of_key(table_key: bytes) -> str:
    """The workspace a dedupe key belongs to: its readable prefix."""
    return table_key.split(b":", 1)[0].decode("utf-8", errors="replace")


def is_expired(
    table_key: bytes, entry: Mapping[str, Any], now_us: int, retention: Retention
) -> bool:
    """Whether a key's first capture is older than its workspace's window."""
    window_us = retention.seconds_for(workspace_of_key(table_key)) * 1_000_000
    return bool(now_us - int(entry["first_seen_us"]) > window_us)


def expired_keys(
    entries: Iterable[tuple[bytes, Mapping[str, Any] | None]],
    partitions: set[int],
    now_us: int,
    retention: Retention,
) -> list[tuple[bytes, int]]:
    """The expired keys of the given partitions, each with its changelog partition.

    Only the partitions a worker owns are swept: a standby copy is trimmed by the
    owner's tombstones, never by the standby itself.
    """
    found: list[tuple[bytes, int]] = []
    for table_key, entry in entries:
        if not entry or entry.get("partition") not in partitions:
            continue
        if is_expired(table_key, entry, now_us, retention):
            found.append((table_key, int(entry["partition"])))
    return found
