"""A worker refuses a table changelog that does not fit its table.

A broker with topic auto-creation makes such a changelog, with its default
partitions and delete policy, when a client asks for the topic's metadata first.
That is the likely cause of a CI failure on 2026-12-04, where the audience agent
crashed on every lead while signals still got their replies.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from confluent_kafka.admin import AdminClient
from confluent_kafka.cimpl import NewTopic

from schemas.topics import AUDIENCE_LEADS
from stream_processors.exits import CHANGELOGS_UNUSABLE_EXIT
from tests.integration.processor.conftest import Stack

WRONG_SHAPES = {
    "fewer partitions": (
        AUDIENCE_LEADS.partitions - 2,
        "compact",
        f"has {AUDIENCE_LEADS.partitions - 2} partitions where"
        f" {AUDIENCE_LEADS.partitions} are needed",
    ),
    "delete policy": (
        AUDIENCE_LEADS.partitions,
        "delete",
        "has cleanup.policy=delete where compact is needed",
    ),
}


@pytest.mark.parametrize("shape", sorted(WRONG_SHAPES))
def test_a_changelog_of_another_shape_stops_the_worker_naming_it(
    make_stack: Callable[..., Stack], kafka_bootstrap: str, shape: str
) -> None:
    """The worker exits at once; its log names the topic and what is wrong."""
    partitions, policy, complaint = WRONG_SHAPES[shape]
    stack = make_stack(sink=False)
    pipeline = stack.pipeline
    app_id = f"{pipeline.prefix}{pipeline.prefix}processor"
    changelog = f"{app_id}-audience_leads-changelog"
    admin = AdminClient({"bootstrap.servers": kafka_bootstrap})
    made = NewTopic(changelog, partitions, 1, config={"cleanup.policy": policy})
    for future in admin.create_topics([made]).values():
        future.result(timeout=30)

    status = pipeline.start("processor").wait(timeout=90)
    log = (pipeline.log_dir / "processor-0.log").read_text(errors="replace")

    assert status == CHANGELOGS_UNUSABLE_EXIT, log[-2000:]
    assert "processor.changelog_unusable" in log
    assert f"topic {changelog} {complaint}" in log


def test_changelogs_are_created_with_the_configured_replication(
    make_stack: Callable[..., Stack],
) -> None:
    """Two copies on a one-broker cluster cannot be made: the worker says so."""
    stack = make_stack(sink=False, UNSTUCK_TOPIC_REPLICATION_FACTOR="2")
    pipeline = stack.pipeline

    status = pipeline.start("processor").wait(timeout=90)
    log = (pipeline.log_dir / "processor-0.log").read_text(errors="replace")

    assert status == CHANGELOGS_UNUSABLE_EXIT, log[-2000:]
    assert "processor.changelog_unusable" in log
    assert "replication factor" in log.lower()
