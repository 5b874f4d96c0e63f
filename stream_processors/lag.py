"""Consumer lag per partition, in messages and in seconds, for Prometheus.

Lag in messages is the partition's high watermark less the next offset this worker
will process. Lag in seconds is how long the oldest waiting message has waited, at
most: the time since the last processed message was written, while any wait; zero
when caught up. Both are measured on a timer, not per message, so they cost the hot
path one dictionary write.
"""

from __future__ import annotations

from dataclasses import dataclass

from prometheus_client import Gauge

LAG_MESSAGES = Gauge(
    "unstuck_processor_consumer_lag_messages",
    "Messages waiting in a raw-topic partition this worker owns",
    ["topic", "partition"],
)
LAG_SECONDS = Gauge(
    "unstuck_processor_consumer_lag_seconds",
    "Upper bound on how long the oldest waiting message has waited",
    ["topic", "partition"],
)


@dataclass(frozen=True)
class PartitionLag:
    """The lag of one partition at one moment."""

    messages: int
    seconds: float


def partition_lag(
    highwater: int, next_offset: int, last_timestamp_s: float | None, now_s: float
) -> PartitionLag:
    """Lag from the high watermark, the next offset to process and the clock."""
    messages = max(0, highwater - next_offset)
    if messages == 0 or last_timestamp_s is None:
        return PartitionLag(messages, 0.0)
    return PartitionLag(messages, max(0.0, now_s - last_timestamp_s))


class Positions:
    """Where this worker is in each partition: next offset and last timestamp."""

    def __init__(self) -> None:
        self._next: dict[int, int] = {}
        self._stamp: dict[int, float] = {}

    def processed(self, partition: int, offset: int, timestamp_s: float) -> None:
        """Note that a message was handled."""
        self._next[partition] = offset + 1
        self._stamp[partition] = timestamp_s

    def next_offset(self, partition: int) -> int | None:
        """The offset this worker will process next, if it has processed any."""
        return self._next.get(partition)

    def last_timestamp(self, partition: int) -> float | None:
        """The broker timestamp of the last message handled."""
        return self._stamp.get(partition)

    def forget(self, keep: set[int]) -> None:
        """Drop partitions given away in a rebalance."""
        for partition in list(self._next):
            if partition not in keep:
                self._next.pop(partition, None)
                self._stamp.pop(partition, None)


def publish(topic: str, lags: dict[int, PartitionLag]) -> None:
    """Set the gauges, removing partitions this worker no longer owns."""
    for labels in list(_published):
        if labels[0] == topic and int(labels[1]) not in lags:
            LAG_MESSAGES.remove(*labels)
            LAG_SECONDS.remove(*labels)
            _published.discard(labels)
    for partition, lag in lags.items():
        labels = (topic, str(partition))
        LAG_MESSAGES.labels(*labels).set(lag.messages)
        LAG_SECONDS.labels(*labels).set(lag.seconds)
        _published.add(labels)


_published: set[tuple[str, str]] = set()
