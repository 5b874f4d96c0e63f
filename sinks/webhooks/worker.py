"""The webhook sink worker: ``webhooks`` to each workspace's receiver."""

from __future__ import annotations

import asyncio
import signal
import threading
from typing import Any, Protocol

import structlog
from confluent_kafka import Consumer, KafkaException, Message, TopicPartition

from schemas import codec
from schemas.topics import WEBHOOKS, WEBHOOKS_DLQ
from schemas.workspace import WorkspaceDirectory
from sinks.kafka import DeadLetters, commit, new_consumer
from sinks.records.migrate import migrate
from sinks.settings import SinkSettings
from sinks.webhooks.delivery import Deliverer, Job
from sinks.webhooks.delivery_log import DeliveryLog
from sinks.webhooks.offsets import OffsetTracker

log = structlog.get_logger(__name__)

STAGE = "sink.webhooks"
POLL_S = 0.2
DIRECTORY_READY_S = 60.0


class Endpoints(Protocol):
    """Where a workspace's webhooks go: the workspace directory, in production."""

    def get(self, workspace_id: str) -> dict[str, Any] | None:
        """The workspace's configuration record, or None when it is unknown."""


class WebhookSink:
    """Consumes ``webhooks`` and delivers each message as its own task."""

    def __init__(
        self, settings: SinkSettings, stop: threading.Event, endpoints: Endpoints
    ) -> None:
        self._settings = settings
        self._stop = stop
        self._endpoints = endpoints
        self._tracker = OffsetTracker()
        self._tasks: set[asyncio.Task[None]] = set()
        self._paused = False
        self._consumer: Consumer = new_consumer(
            settings.kafka_bootstrap_servers, settings.webhooks_group
        )
        self._dead = DeadLetters(
            settings.kafka_bootstrap_servers,
            WEBHOOKS_DLQ.name(settings.topic_prefix),
            STAGE,
        )

    async def run(self) -> None:
        """Consume and deliver until stopped, then drain within the grace period."""
        topic = WEBHOOKS.name(self._settings.topic_prefix)
        self._consumer.subscribe([topic], on_revoke=self._on_revoke)
        delivery_log = DeliveryLog(self._settings.database_url)
        log.info("sink.started", stage=STAGE, topic=topic)

        try:
            async with Deliverer(self._settings, delivery_log) as deliverer:
                while not self._stop.is_set():
                    self._apply_backpressure()
                    messages = await asyncio.to_thread(
                        self._consumer.consume,
                        self._settings.batch_max_size,
                        POLL_S,
                    )
                    self._start_deliveries(deliverer, messages)
                    await self._commit_done()
                await self._drain()
        finally:
            self._consumer.close()
            await delivery_log.close()
            log.info("sink.stopped", stage=STAGE)

    def _apply_backpressure(self) -> None:
        """Pause every partition while too many deliveries are unfinished."""
        full = self._tracker.in_flight >= self._settings.webhook_max_in_flight
        if full != self._paused:
            assignment = self._consumer.assignment()
            if full:
                self._consumer.pause(assignment)
            else:
                self._consumer.resume(assignment)
            self._paused = full
            log.info("webhook.backpressure", paused=full, in_flight=len(self._tasks))

    def _start_deliveries(self, deliverer: Deliverer, messages: list[Message]) -> None:
        for message in messages:
            error = message.error()
            if error is not None:
                if error.fatal():
                    raise KafkaException(error)
                log.warning("sink.consume_error", stage=STAGE, error=str(error))
                continue

            self._tracker.add(*_position(message))
            task = asyncio.create_task(self._handle(deliverer, message))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _handle(self, deliverer: Deliverer, message: Message) -> None:
        """Deliver one message; whatever happens, it ends delivered or dead-lettered."""
        workspace_id = None
        try:
            webhook = codec.decode("webhook", message.value())
            workspace_id = webhook["workspace_id"]
            job = self._job(webhook)
            if job is not None:
                outcome = await deliverer.deliver(job)
                if not outcome.delivered:
                    self._dead.send(
                        message, outcome.reason, outcome.error_type, workspace_id
                    )
                else:
                    log.info(
                        "webhook.delivered",
                        webhook_id=job.webhook_id,
                        workspace_id=workspace_id,
                        attempts=outcome.attempts,
                    )
        except codec.CodecError as error:
            self._dead.send(message, str(error), "CodecError")
        except Exception as error:
            # Broad on purpose: one bad message must end dead-lettered, never
            # stay unfinished and hold back its partition's commits forever.
            log.exception("webhook.unexpected_error", offset=message.offset())
            self._dead.send(message, repr(error), type(error).__name__, workspace_id)

        self._tracker.done(*_position(message))

    def _job(self, webhook: dict[str, Any]) -> Job | None:
        """The delivery to make, or None when the workspace has no active endpoint."""
        workspace_id = webhook["workspace_id"]
        config = self._endpoints.get(workspace_id)
        endpoint = config.get("webhook") if config else None
        if not endpoint or not endpoint.get("enabled", True):
            log.info(
                "webhook.no_endpoint",
                webhook_id=webhook["webhook_id"],
                workspace_id=workspace_id,
            )
            return None

        return Job(
            webhook_id=webhook["webhook_id"],
            workspace_id=workspace_id,
            capture_id=webhook["capture_id"],
            url=endpoint["url"],
            secrets=tuple(endpoint["secrets"]),
            body=webhook["payload_json"].encode("utf-8"),
        )

    async def _commit_done(self) -> None:
        """Make dead letters durable, then commit every partition's done prefix."""
        offsets = self._tracker.committable()
        if offsets:
            await asyncio.to_thread(self._dead.flush)
            await asyncio.to_thread(commit, self._consumer, offsets)

    async def _drain(self) -> None:
        """Give running deliveries the grace period; abandoned ones stay uncommitted."""
        if self._tasks:
            _, late = await asyncio.wait(
                set(self._tasks), timeout=self._settings.shutdown_grace_s
            )
            for task in late:
                task.cancel()
            await asyncio.gather(*late, return_exceptions=True)
            log.info("webhook.drained", abandoned=len(late))
        await self._commit_done()

    def _on_revoke(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        """Commit what is done on the partitions leaving us, then stop tracking them."""
        keys = [(str(p.topic), int(p.partition)) for p in partitions]
        offsets = self._tracker.committable(keys)
        if offsets:
            self._dead.flush()
            commit(consumer, offsets)
        self._tracker.forget(keys)


def _position(message: Message) -> tuple[str, int, int]:
    return (
        str(message.topic()),
        int(message.partition() or 0),
        int(message.offset() or 0),
    )


async def run_async(
    settings: SinkSettings,
    stop: threading.Event,
    endpoints: Endpoints | None = None,
) -> None:
    """Run the sink on the current loop, with its own workspace directory if needed."""
    directory = None
    if endpoints is None:
        directory = WorkspaceDirectory(
            settings.kafka_bootstrap_servers, settings.topic_prefix
        )
        directory.start()
        await asyncio.to_thread(directory.wait_ready, DIRECTORY_READY_S)
        endpoints = directory

    try:
        await WebhookSink(settings, stop, endpoints).run()
    finally:
        if directory is not None:
            directory.stop()


def run(settings: SinkSettings, stop: threading.Event | None = None) -> None:
    """Migrate the database, then deliver webhooks until ``stop`` is set."""
    migrate(settings.database_url)
    asyncio.run(run_async(settings, stop or threading.Event()))


def main() -> None:
    """Console entry point: settings from the environment, SIGTERM stops cleanly."""
    settings = SinkSettings()
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    run(settings, stop)


if __name__ == "__main__":
    main()
