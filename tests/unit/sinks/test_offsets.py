"""Only the contiguous finished prefix of a partition is committed."""

from __future__ import annotations

from sinks.webhooks.offsets import OffsetTracker


def _commits(tracker: OffsetTracker) -> list[tuple[str, int, int]]:
    return [(tp.topic, tp.partition, tp.offset) for tp in tracker.committable()]


def test_slow_first_message_holds_back_the_commit() -> None:
    """A later offset finishing first is not committed past an unfinished one."""
    tracker = OffsetTracker()
    for offset in (10, 11, 12):
        tracker.add("webhooks", 0, offset)

    tracker.done("webhooks", 0, 11)
    tracker.done("webhooks", 0, 12)

    assert _commits(tracker) == []
    tracker.done("webhooks", 0, 10)
    assert _commits(tracker) == [("webhooks", 0, 13)]
    assert tracker.in_flight == 0


def test_partitions_commit_independently() -> None:
    """A stuck partition does not hold back another one."""
    tracker = OffsetTracker()
    tracker.add("webhooks", 0, 1)
    tracker.add("webhooks", 1, 5)
    tracker.add("webhooks", 1, 6)

    tracker.done("webhooks", 1, 5)

    assert _commits(tracker) == [("webhooks", 1, 6)]
    assert tracker.in_flight == 2


def test_forgotten_partitions_are_not_committed() -> None:
    """After a revoke, late completions on that partition commit nothing."""
    tracker = OffsetTracker()
    tracker.add("webhooks", 3, 0)

    tracker.forget([("webhooks", 3)])
    tracker.done("webhooks", 3, 0)

    assert _commits(tracker) == []
