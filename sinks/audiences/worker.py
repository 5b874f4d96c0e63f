"""The audience sink worker: membership and definitions topics into PostgreSQL.

Offsets are committed only after the database commit, and every write is
idempotent, so a crash at any point replays into the same rows.
"""

from __future__ import annotations

import signal
import threading
import time
from typing import Any

import psycopg
import structlog
from confluent_kafka import KafkaError, KafkaException, Message
from pydantic import Field

from schemas import codec
from schemas.topics import AUDIENCE_DEFINITIONS, AUDIENCE_MEMBERSHIP
from sinks.audiences.store import store_changes
from sinks.backoff import full_jitter
from sinks.database import Database, is_transient
from sinks.kafka import commit, new_consumer, next_offsets
from sinks.records.migrate import migrate
from sinks.settings import SinkSettings

log = structlog.get_logger(__name__)

STAGE = "sink.audiences"


class AudienceSinkSettings(SinkSettings):
    """The sinks' settings plus this worker's consumer group."""

    # Empty means "<topic prefix>sink-audiences", so pipelines sharing a cluster
    # under different prefixes never share a group.
    audiences_group: str = Field(
        default="", validation_alias="UNSTUCK_AUDIENCES_SINK_GROUP"
    )

    def group(self) -> str:
        return self.audiences_group or f"{self.topic_prefix}sink-audiences"


class AudienceSink:
    """Consumes both audience topics in batches, storing each before committing."""

    def __init__(self, settings: AudienceSinkSettings, stop: threading.Event) -> None:
        self._settings = settings
        self._stop = stop
        self._db = Database(settings.database_url)
        self._consumer = new_consumer(
            settings.kafka_bootstrap_servers, settings.group()
        )
        self._membership = AUDIENCE_MEMBERSHIP.name(settings.topic_prefix)
        self._definitions = AUDIENCE_DEFINITIONS.name(settings.topic_prefix)

    def run(self) -> None:
        """Loop until the stop event is set."""
        self._consumer.subscribe([self._definitions, self._membership])
        log.info("sink.started", stage=STAGE, topic=self._membership)
        try:
            while not self._stop.is_set():
                messages = self._consumer.consume(
                    self._settings.batch_max_size,
                    timeout=self._settings.batch_max_wait_ms / 1000,
                )
                if messages:
                    self._handle(messages)
        finally:
            self._consumer.close()
            self._db.close()
            log.info("sink.stopped", stage=STAGE)

    def _handle(self, messages: list[Message]) -> None:
        changes: list[dict[str, Any]] = []
        definitions: list[tuple[str, dict[str, Any] | None]] = []
        kept: list[Message] = []
        for message in messages:
            error = message.error()
            if error is not None:
                if error.fatal():
                    raise KafkaException(error)
                if error.code() != KafkaError._PARTITION_EOF:
                    log.warning("sink.consume_error", stage=STAGE, error=str(error))
                continue
            kept.append(message)
            self._decode(message, changes, definitions)

        self._store(changes, definitions)
        commit(self._consumer, next_offsets(kept))
        if changes:
            log.info("sink.batch_stored", stage=STAGE, changes=len(changes))

    def _decode(
        self,
        message: Message,
        changes: list[dict[str, Any]],
        definitions: list[tuple[str, dict[str, Any] | None]],
    ) -> None:
        """Undecodable messages are logged and skipped: they are our own output."""
        try:
            if message.topic() == self._definitions:
                key = (message.key() or b"").decode()
                value = message.value()
                decoded = (
                    None
                    if value is None
                    else codec.decode("audience_definition", value)
                )
                definitions.append((key, decoded))
            else:
                changes.append(codec.decode("audience_membership", message.value()))
        except codec.CodecError as error:
            log.error(
                "sink.undecodable",
                stage=STAGE,
                topic=message.topic(),
                partition=message.partition(),
                offset=message.offset(),
                error=str(error),
            )

    def _store(
        self,
        changes: list[dict[str, Any]],
        definitions: list[tuple[str, dict[str, Any] | None]],
    ) -> None:
        """Retry outages until they pass; anything else stops the worker."""
        failures = 0
        while True:
            try:
                store_changes(self._db.connection(), changes, definitions)
                return
            except psycopg.Error as error:
                if not is_transient(error) or self._stop.is_set():
                    raise
                failures += 1
                self._db.reset()
                delay = full_jitter(
                    failures,
                    self._settings.db_retry_base_s,
                    self._settings.db_retry_cap_s,
                )
                log.warning(
                    "sink.database_unavailable",
                    stage=STAGE,
                    sqlstate=error.sqlstate,
                    failures=failures,
                )
                # Plain sleep: past max.poll.interval.ms the group moves the
                # partitions elsewhere, which replays idempotently.
                time.sleep(delay)


def main() -> None:
    """Console entry point: settings from the environment, SIGTERM stops cleanly."""
    settings = AudienceSinkSettings()
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    migrate(settings.database_url)
    AudienceSink(settings, stop).run()
