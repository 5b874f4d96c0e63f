"""The webhook sink worker: ``webhooks`` to each workspace's receiver.

First attempts come from ``webhooks``; a failed attempt is re-produced to
``webhooks.retry`` with its next attempt number and not-before time in headers,
and the retry lane waits for that time per message. No attempt ever waits on a
partition, and a retry survives restarts because it lives in Kafka, not memory.
"""

from __future__ import annotations

import asyncio
import signal
import threading
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

import structlog
from confluent_kafka import Message

from schemas import codec
from schemas.topics import WEBHOOKS, WEBHOOKS_DLQ, WEBHOOKS_RETRY
from schemas.workspace import WorkspaceDirectory
from sinks.kafka import DeadLetters, new_consumer
from sinks.records.migrate import migrate
from sinks.settings import SinkSettings
from sinks.webhooks.delivery import Deliverer, Job, TryResult
from sinks.webhooks.delivery_log import DeliveryLog
from sinks.webhooks.endpoints import EndpointHealth
from sinks.webhooks.lane import Lane
from sinks.webhooks.retry import retry_delay
from sinks.webhooks.retry_queue import RetryQueue
from sinks.webhooks.schedule import RetryState, read_state

log = structlog.get_logger(__name__)

STAGE = "sink.webhooks"
DIRECTORY_READY_S = 60.0
RETRY_GROUP_SUFFIX = ".retry"


class Endpoints(Protocol):
    """Where a workspace's webhooks go: the workspace directory, in production."""

    def get(self, workspace_id: str) -> dict[str, Any] | None:
        """The workspace's configuration record, or None when it is unknown."""


class WebhookSink:
    """Two lanes (first attempts, retries) feeding one deliverer."""

    def __init__(
        self, settings: SinkSettings, stop: threading.Event, endpoints: Endpoints
    ) -> None:
        bootstrap, prefix = settings.kafka_bootstrap_servers, settings.topic_prefix
        self._settings = settings
        self._stop = stop
        self._endpoints = endpoints
        self._dead = DeadLetters(bootstrap, WEBHOOKS_DLQ.name(prefix), STAGE)
        self._retries = RetryQueue(bootstrap, WEBHOOKS_RETRY.name(prefix))
        self._log = DeliveryLog(settings.database_url)
        self._health = EndpointHealth(
            settings.database_url, settings.webhook_disable_after_s
        )
        self._deliverer = Deliverer(settings, self._log)
        self._slots: defaultdict[str, asyncio.Semaphore] = defaultdict(
            lambda: asyncio.Semaphore(settings.webhook_concurrency_per_endpoint)
        )
        self._lanes = (
            Lane(
                "first",
                new_consumer(bootstrap, settings.webhooks_group),
                settings.webhook_max_in_flight,
                self._handle,
                self._make_durable,
            ),
            Lane(
                "retry",
                new_consumer(bootstrap, settings.webhooks_group + RETRY_GROUP_SUFFIX),
                settings.webhook_retry_max_in_flight,
                self._handle,
                self._make_durable,
            ),
        )

    async def run(self) -> None:
        """Consume and deliver until stopped, then drain within the grace period."""
        first, retry = self._lanes
        first.subscribe(WEBHOOKS.name(self._settings.topic_prefix))
        retry.subscribe(self._retries.topic)
        log.info("sink.started", stage=STAGE)

        try:
            async with self._deliverer:
                while not self._stop.is_set():
                    await asyncio.gather(first.poll(), retry.poll())
                    self._retries.poll()
                    for lane in self._lanes:
                        await lane.commit_done()
                grace = self._settings.shutdown_grace_s
                await asyncio.gather(*(lane.drain(grace) for lane in self._lanes))
        finally:
            for lane in self._lanes:
                lane.close()
            await self._log.close()
            await self._health.close()
            log.info("sink.stopped", stage=STAGE)

    def _make_durable(self) -> None:
        self._retries.flush()
        self._dead.flush()

    async def _handle(self, message: Message) -> None:
        """Handle one message; whatever happens, it ends delivered, retried or dead."""
        workspace_id = None
        try:
            webhook = codec.decode("webhook", message.value())
            workspace_id = webhook["workspace_id"]
            state = read_state(message.headers())
            await _sleep_until(state.not_before)
            await self._attempt(message, webhook, state)
        except codec.CodecError as error:
            self._dead.send(message, str(error), "CodecError")
        except Exception as error:
            # Broad on purpose: one bad message must end dead-lettered, never
            # stay unfinished and hold back its partition's commits forever.
            log.exception("webhook.unexpected_error", offset=message.offset())
            self._dead.send(message, repr(error), type(error).__name__, workspace_id)

    async def _attempt(
        self, message: Message, webhook: dict[str, Any], state: RetryState
    ) -> None:
        job = self._job(webhook)
        if job is None:
            return
        # The endpoint's slot covers the database reads before the POST too:
        # otherwise a thousand messages of one failing endpoint queue their
        # queries on the shared connections ahead of every other workspace.
        async with self._slots[job.url]:
            result = await self._try(message, webhook, job, state)
        if result is None:
            return

        if result.delivered:
            await self._deliverer.record(job, state.attempt, result)
            await self._health.succeeded(job.workspace_id, job.url, datetime.now(UTC))
            log.info(
                "webhook.delivered",
                webhook_id=job.webhook_id,
                workspace_id=job.workspace_id,
                attempts=state.attempt,
            )
            return

        await self._after_failure(message, job, state, result)
        await self._deliverer.record(job, state.attempt, result)

    async def _try(
        self, message: Message, webhook: dict[str, Any], job: Job, state: RetryState
    ) -> TryResult | None:
        """POST unless the attempt was made already or the endpoint is disabled."""
        if await self._log.highest_attempt(job.webhook_id) >= state.attempt:
            # A copy re-read after a restart: this attempt and its consequence
            # are already durable.
            log.info("webhook.attempt_already_made", webhook_id=job.webhook_id)
            return None

        if state.attempt == 1:
            await self._log.remember(webhook, message.key(), message.value() or b"")

        endpoint = await self._health.state(job.workspace_id, job.url)
        if endpoint.disabled:
            reason = f"endpoint disabled: {endpoint.reason}"
            self._dead.send(message, reason, "EndpointDisabled", job.workspace_id)
            return None

        return await self._deliverer.attempt(job)

    async def _after_failure(
        self, message: Message, job: Job, state: RetryState, result: TryResult
    ) -> None:
        """Schedule the next attempt or dead-letter; return once that is durable."""
        if result.refused:
            reason, error_type = str(result.error), "DestinationRefused"
        else:
            now = datetime.now(UTC)
            error = result.error or "unknown error"
            endpoint = await self._health.failed(job.workspace_id, job.url, error, now)
            if endpoint.disabled:
                reason = f"endpoint disabled: {endpoint.reason}"
                error_type = "EndpointDisabled"
            elif state.exhausted(self._settings.webhook_max_attempts):
                reason = f"gave up after {state.attempt} attempts: {error}"
                error_type = "DeliveryExhausted"
            else:
                await self._schedule(message, job, state, result, now)
                return

        self._dead.send(message, reason, error_type, job.workspace_id)
        await asyncio.to_thread(self._dead.flush)

    async def _schedule(
        self,
        message: Message,
        job: Job,
        state: RetryState,
        result: TryResult,
        now: datetime,
    ) -> None:
        settings = self._settings
        delay = retry_delay(
            state.attempt,
            settings.webhook_backoff_base_s,
            settings.webhook_backoff_cap_s,
            result.retry_after,
            settings.webhook_retry_after_cap_s,
        )
        following = state.next(now + timedelta(seconds=delay))
        await self._retries.schedule(message.key(), message.value() or b"", following)
        log.info(
            "webhook.retry_scheduled",
            webhook_id=job.webhook_id,
            attempt=following.attempt,
            status=result.status,
            retry_in_s=round(delay, 3),
        )

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


async def _sleep_until(moment: datetime) -> None:
    """Wait for ``moment`` on the loop; other messages go on meanwhile."""
    delay = (moment - datetime.now(UTC)).total_seconds()
    if delay > 0:
        await asyncio.sleep(delay)


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
