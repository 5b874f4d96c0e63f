"""Which cluster and which topics an operator verb talks to."""

from __future__ import annotations

import os
from dataclasses import dataclass

from schemas.topics import CATALOG, Topic


@dataclass(frozen=True)
class KafkaTarget:
    """A bootstrap address and the topic prefix of one pipeline on it."""

    bootstrap: str
    prefix: str = ""

    def topic(self, name: str) -> Topic:
        """The catalog topic called ``name``, with or without the prefix."""
        for topic in CATALOG:
            if name in (topic.base_name, topic.name(self.prefix)):
                return topic
        known = ", ".join(topic.base_name for topic in CATALOG)
        raise SystemExit(f"unknown topic {name}; the catalog has {known}")

    def names(self) -> dict[str, Topic]:
        """Every catalog topic by its full name on this cluster."""
        return {topic.name(self.prefix): topic for topic in CATALOG}


def kafka_target() -> KafkaTarget:
    """The target from the environment (``dev.env`` is read by the CLI first)."""
    bootstrap = os.environ.get("KAFKA_BOOTSTRAP_SERVERS")
    if not bootstrap:
        raise SystemExit("KAFKA_BOOTSTRAP_SERVERS is not set: run `unstuck dev` first")
    return KafkaTarget(bootstrap, os.environ.get("UNSTUCK_TOPIC_PREFIX", ""))


def replication_factor() -> int:
    """Copies of each topic ``unstuck init`` creates (1 suits a single broker)."""
    replication = os.environ.get("UNSTUCK_TOPIC_REPLICATION_FACTOR", "1")
    if not replication.isdigit() or int(replication) < 1:
        raise SystemExit(
            "UNSTUCK_TOPIC_REPLICATION_FACTOR must be a whole number from 1,"
            f" not {replication!r}"
        )
    return int(replication)
