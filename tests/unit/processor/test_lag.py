"""Per-partition lag in messages and seconds."""

from __future__ import annotations

from stream_processors.lag import PartitionLag, Positions, partition_lag


def test_caught_up_partition_has_no_lag() -> None:
    """When the next offset is the high watermark both lags are zero."""
    assert partition_lag(10, 10, 100.0, 500.0) == PartitionLag(0, 0.0)


def test_waiting_messages_count_and_age() -> None:
    """Lag counts waiting messages and the time since the last one handled."""
    assert partition_lag(15, 10, 100.0, 104.5) == PartitionLag(5, 4.5)


def test_positions_follow_processing_and_rebalances() -> None:
    """A handled message moves the position; a revoked partition is forgotten."""
    positions = Positions()
    positions.processed(0, 41, 10.0)
    positions.processed(3, 7, 11.0)

    positions.forget({3})

    assert positions.next_offset(0) is None
    assert positions.next_offset(3) == 8
    assert positions.last_timestamp(3) == 11.0
