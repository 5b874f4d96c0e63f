"""Which offsets may be committed while deliveries finish out of order."""

from __future__ import annotations

import threading
from collections.abc import Iterable

from confluent_kafka import TopicPartition

PartitionKey = tuple[str, int]


class OffsetTracker:
    """Offsets in flight per partition; only a contiguous done prefix is committed.

    A slow delivery holds back the commit of the later ones on its partition but
    never their delivery, so a restart resends at most the unfinished tail, which
    receivers drop by webhook id. Thread-safe: rebalance callbacks run on the
    consumer's thread while deliveries finish on the event loop.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pending: dict[PartitionKey, dict[int, bool]] = {}

    def add(self, topic: str, partition: int, offset: int) -> None:
        """Track a consumed offset; offsets of a partition arrive in order."""
        with self._lock:
            self._pending.setdefault((topic, partition), {})[offset] = False

    def done(self, topic: str, partition: int, offset: int) -> None:
        """Mark an offset delivered or dead-lettered; unknown offsets are ignored."""
        with self._lock:
            offsets = self._pending.get((topic, partition))
            if offsets is not None and offset in offsets:
                offsets[offset] = True

    def committable(
        self, only: Iterable[PartitionKey] | None = None
    ) -> list[TopicPartition]:
        """Pop each partition's done prefix; return the offsets to commit."""
        wanted = None if only is None else set(only)
        commits = []
        with self._lock:
            for (topic, partition), offsets in self._pending.items():
                if wanted is not None and (topic, partition) not in wanted:
                    continue
                last = None
                while offsets:
                    first = next(iter(offsets))
                    if not offsets[first]:
                        break
                    del offsets[first]
                    last = first
                if last is not None:
                    commits.append(TopicPartition(topic, partition, last + 1))
        return commits

    def forget(self, partitions: Iterable[PartitionKey]) -> None:
        """Drop partitions this member no longer owns."""
        with self._lock:
            for key in partitions:
                self._pending.pop(key, None)

    @property
    def in_flight(self) -> int:
        """How many tracked offsets are not yet committable."""
        with self._lock:
            return sum(len(offsets) for offsets in self._pending.values())
