"""The processor's changelog topics, created before Faust subscribes to them.

Faust adds a table's changelog to its consumer's subscription a moment before it
creates the topic, and aiokafka asks for that topic's metadata with auto-creation
allowed. A broker with ``auto.create.topics.enable`` (Kafka's default) may then
create the changelog itself, with the broker's partition count and delete policy.
With fewer partitions than its table, Faust refuses every write to the table: the
audience agent crashed on its first lead while signals still got their replies, so
nothing but audiences stopped. Created here, before the worker starts, every
changelog has its table's partitions and compaction, and one that exists with
another partition count or policy stops the worker with a sentence naming it.
"""

from __future__ import annotations

import faust

from schemas.topic_setup import ensure_topics
from schemas.topics import Topic


def changelog_topics(app: faust.App) -> list[Topic]:
    """One compacted topic per table, with the table's partition count."""
    return [
        Topic(
            table.changelog_topic.get_topic_name(),
            table.partitions or app.conf.topic_partitions,
            compacted=True,
        )
        for table in app.tables.values()
    ]


def create_changelogs(app: faust.App, bootstrap_servers: str) -> list[str]:
    """Create the app's changelog topics unless they exist; return their names.

    Raises ``TopicSetupError`` when one cannot be created, or exists with another
    partition count or cleanup policy. Neither is fixed in place: moving keys
    between partitions would hand table state to the wrong worker, and a topic
    that deleted state already has lost it.
    """
    return ensure_topics(
        bootstrap_servers,
        catalog=changelog_topics(app),
        replication_factor=app.conf.topic_replication_factor,
        exact=True,
    )
