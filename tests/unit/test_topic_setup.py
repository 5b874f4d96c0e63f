"""The sentences topic setup gives for a topic of another shape."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from schemas.topic_setup import _partition_drift
from schemas.topics import Topic


def metadata(partitions: int) -> Any:
    """What ``list_topics`` reports of a topic, as far as drift needs it."""
    return SimpleNamespace(partitions=dict.fromkeys(range(partitions)))


def test_a_topic_with_other_partitions_is_named_with_both_counts() -> None:
    wanted = {"a": Topic("a", 6), "b": Topic("b", 3)}

    drifted = _partition_drift({"a": metadata(4), "b": metadata(3)}, wanted)

    assert drifted == ["topic a has 4 partitions where 6 are needed"]


def test_topics_of_the_catalog_shape_give_no_sentence() -> None:
    wanted = {"a": Topic("a", 6, compacted=True)}

    assert _partition_drift({"a": metadata(6)}, wanted) == []
