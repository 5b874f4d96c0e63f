"""A worker refuses a table changelog whose partitions do not match its table.

Such a changelog is what a broker with topic auto-creation makes when a client asks
for its metadata first; the audience agent crashed on every lead while signals
still got their replies (CI, 2026-12-04).
"""

from __future__ import annotations

from collections.abc import Callable

from confluent_kafka.admin import AdminClient
from confluent_kafka.cimpl import NewTopic

from schemas.topics import AUDIENCE_LEADS
from stream_processors.__main__ import CHANGELOGS_UNUSABLE_EXIT
from tests.integration.processor.conftest import Stack


def test_a_changelog_with_other_partitions_stops_the_worker_naming_it(
    make_stack: Callable[..., Stack], kafka_bootstrap: str
) -> None:
    """The worker exits at once with the topic and both counts in its log."""
    stack = make_stack(sink=False)
    pipeline = stack.pipeline
    app_id = f"{pipeline.prefix}{pipeline.prefix}processor"
    changelog = f"{app_id}-audience_leads-changelog"
    wrong = AUDIENCE_LEADS.partitions - 2
    admin = AdminClient({"bootstrap.servers": kafka_bootstrap})
    for future in admin.create_topics([NewTopic(changelog, wrong, 1)]).values():
        future.result(timeout=30)

    status = pipeline.start("processor").wait(timeout=90)
    log = (pipeline.log_dir / "processor-0.log").read_text(errors="replace")

    assert status == CHANGELOGS_UNUSABLE_EXIT, log[-2000:]
    assert "processor.changelog_unusable" in log
    assert (
        f"topic {changelog} has {wrong} partitions where"
        f" {AUDIENCE_LEADS.partitions} are needed"
    ) in log


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
