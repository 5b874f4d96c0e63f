"""The records sink worker: Kafka ``records`` into PostgreSQL, offsets after commit."""

from __future__ import annotations

import signal
import threading
from dataclasses import dataclass, field
from typing import Any

import psycopg
import structlog
from confluent_kafka import Consumer, KafkaException, Message

from schemas import codec
from schemas.topics import RECORDS, RECORDS_DLQ
from sinks.backoff import full_jitter
from sinks.database import Database, is_bad_data, is_transient
from sinks.kafka import DeadLetters, commit, new_consumer, next_offsets
from sinks.records.migrate import migrate
from sinks.records.store import upsert_records
from sinks.settings import SinkSettings

log = structlog.get_logger(__name__)

STAGE = "sink.records"
OUTAGE_POLL_S = 0.5


class StopRequestedError(Exception):
    """Shutdown arrived while the database was down; the batch stays uncommitted."""


@dataclass
class Batch:
    """Consumed messages and the records decoded from them, stored as one unit."""

    messages: list[Message] = field(default_factory=list)
    records: list[tuple[Message, dict[str, Any]]] = field(default_factory=list)


class RecordsSink:
    """Consumes ``records`` in batches and stores each batch before committing it."""

    def __init__(self, settings: SinkSettings, stop: threading.Event) -> None:
        self._settings = settings
        self._stop = stop
        self._db = Database(settings.database_url)
        self._consumer: Consumer = new_consumer(
            settings.kafka_bootstrap_servers, settings.records_group
        )
        self._dead = DeadLetters(
            settings.kafka_bootstrap_servers,
            RECORDS_DLQ.name(settings.topic_prefix),
            STAGE,
        )

    def run(self) -> None:
        """Loop until the stop event is set, then close after the current batch."""
        topic = RECORDS.name(self._settings.topic_prefix)
        self._consumer.subscribe([topic])
        log.info("sink.started", stage=STAGE, topic=topic)
        try:
            while not self._stop.is_set():
                messages = self._consumer.consume(
                    self._settings.batch_max_size,
                    timeout=self._settings.batch_max_wait_ms / 1000,
                )
                if messages:
                    self._handle(messages)
        except StopRequestedError:
            log.info("sink.stopped_during_outage", stage=STAGE)
        finally:
            self._consumer.close()
            self._db.close()
            log.info("sink.stopped", stage=STAGE)

    def _handle(self, messages: list[Message]) -> None:
        batch = Batch()
        self._add(batch, messages)

        self._store(batch)
        self._dead.flush()

        offsets = next_offsets(batch.messages)
        if commit(self._consumer, offsets):
            log.debug("sink.batch_committed", stage=STAGE, size=len(batch.messages))

    def _add(self, batch: Batch, messages: list[Message]) -> None:
        """Decode what can be decoded; dead-letter the rest with its bytes."""
        for message in messages:
            error = message.error()
            if error is not None:
                if error.fatal():
                    raise KafkaException(error)
                log.warning("sink.consume_error", stage=STAGE, error=str(error))
                continue

            batch.messages.append(message)
            try:
                record = codec.decode("record", message.value())
            except codec.CodecError as decode_error:
                self._dead.send(message, str(decode_error), "CodecError")
                continue
            batch.records.append((message, record))

    def _store(self, batch: Batch) -> None:
        """Upsert the batch, waiting out PostgreSQL outages with partitions paused."""
        failures = 0
        while True:
            try:
                self._upsert(batch)
            except psycopg.Error as error:
                if not is_transient(error):
                    raise
                failures += 1
                self._db.reset()
                self._wait_out(batch, error, failures)
                continue
            break

        if failures:
            self._consumer.resume(self._consumer.assignment())
            log.info("sink.database_recovered", stage=STAGE, failures=failures)

    def _upsert(self, batch: Batch) -> None:
        records = [record for _, record in batch.records]
        try:
            result = upsert_records(self._db.connection(), records)
        except psycopg.Error as error:
            if not is_bad_data(error):
                raise
            self._upsert_one_by_one(batch)
            return
        log.info(
            "sink.batch_stored",
            stage=STAGE,
            inserted=result.captures_inserted,
            skipped=result.captures_skipped,
            leads=result.leads_upserted,
        )

    def _upsert_one_by_one(self, batch: Batch) -> None:
        """Isolate the records the database rejects, so the rest still land."""
        kept = []
        for message, record in batch.records:
            try:
                upsert_records(self._db.connection(), [record])
            except psycopg.Error as error:
                if not is_bad_data(error):
                    raise
                reason = f"rejected by PostgreSQL ({error.sqlstate}): {error}"
                self._dead.send(
                    message, reason, type(error).__name__, record["workspace_id"]
                )
                continue
            kept.append((message, record))
        batch.records = kept

    def _wait_out(self, batch: Batch, error: psycopg.Error, failures: int) -> None:
        """Sleep before the next try while staying in the consumer group.

        Partitions are paused so nothing new arrives, yet ``consume`` keeps being
        called so the group does not evict us. Messages of partitions assigned
        meanwhile join the batch: storing is idempotent, so a bigger batch is fine.
        """
        delay = full_jitter(
            failures, self._settings.db_retry_base_s, self._settings.db_retry_cap_s
        )
        log.warning(
            "sink.database_unavailable",
            stage=STAGE,
            sqlstate=error.sqlstate,
            error_type=type(error).__name__,
            failures=failures,
            retry_in_s=round(delay, 2),
        )
        self._consumer.pause(self._consumer.assignment())

        waited = 0.0
        while waited < delay:
            if self._stop.is_set():
                raise StopRequestedError
            step = min(OUTAGE_POLL_S, delay - waited)
            late = self._consumer.consume(self._settings.batch_max_size, timeout=step)
            self._add(batch, late)
            waited += step


def run(settings: SinkSettings, stop: threading.Event | None = None) -> None:
    """Migrate the database, then sink records until ``stop`` is set."""
    migrate(settings.database_url)
    RecordsSink(settings, stop or threading.Event()).run()


def main() -> None:
    """Console entry point: settings from the environment, SIGTERM stops cleanly."""
    settings = SinkSettings()
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    run(settings, stop)


if __name__ == "__main__":
    main()
