"""One consumer of webhook messages and the deliveries it has in flight.

The sink runs two lanes: first attempts from ``webhooks`` and scheduled retries
from ``webhooks.retry``. Each message becomes its own task, so a message waiting
for its time or a slow receiver never holds back the messages behind it; only
their offset commit waits, which a restart turns into a harmless re-read.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import structlog
from confluent_kafka import Consumer, KafkaException, Message, TopicPartition

from sinks.kafka import commit
from sinks.webhooks.offsets import OffsetTracker

log = structlog.get_logger(__name__)

POLL_S = 0.2
CONSUME_BATCH = 500

Handler = Callable[[Message], Awaitable[None]]


class Lane:
    """A consumer whose messages are handled concurrently, committed in order."""

    def __init__(
        self,
        name: str,
        consumer: Consumer,
        max_in_flight: int,
        handler: Handler,
        make_durable: Callable[[], None],
    ) -> None:
        self.name = name
        self._consumer = consumer
        self._max_in_flight = max_in_flight
        self._handler = handler
        self._make_durable = make_durable
        self._tracker = OffsetTracker()
        self._tasks: set[asyncio.Task[None]] = set()
        self._paused = False

    def subscribe(self, topic: str) -> None:
        """Join the group for ``topic``; revoked partitions commit what is done."""
        self._consumer.subscribe([topic], on_revoke=self._on_revoke)

    async def poll(self) -> None:
        """Consume once (off the loop) and start a task per message."""
        self._apply_backpressure()
        messages = await asyncio.to_thread(
            self._consumer.consume, CONSUME_BATCH, POLL_S
        )
        for message in messages:
            error = message.error()
            if error is not None:
                if error.fatal():
                    raise KafkaException(error)
                log.warning("sink.consume_error", lane=self.name, error=str(error))
                continue

            self._tracker.add(*_position(message))
            task = asyncio.create_task(self._run(message))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def commit_done(self) -> None:
        """Make produced retries and dead letters durable, then commit."""
        offsets = self._tracker.committable()
        if offsets:
            await asyncio.to_thread(self._make_durable)
            await asyncio.to_thread(commit, self._consumer, offsets)

    async def drain(self, grace_s: float) -> None:
        """Give running tasks the grace period; abandoned ones stay uncommitted."""
        if self._tasks:
            _, late = await asyncio.wait(set(self._tasks), timeout=grace_s)
            for task in late:
                task.cancel()
            await asyncio.gather(*late, return_exceptions=True)
            log.info("webhook.drained", lane=self.name, abandoned=len(late))
        await self.commit_done()

    def close(self) -> None:
        """Leave the group."""
        self._consumer.close()

    async def _run(self, message: Message) -> None:
        await self._handler(message)
        self._tracker.done(*_position(message))

    def _apply_backpressure(self) -> None:
        """Pause every partition while too many messages are unfinished."""
        full = self._tracker.in_flight >= self._max_in_flight
        if full != self._paused:
            assignment = self._consumer.assignment()
            if full:
                self._consumer.pause(assignment)
            else:
                self._consumer.resume(assignment)
            self._paused = full
            log.info("webhook.backpressure", lane=self.name, paused=full)

    def _on_revoke(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        """Commit what is done on the partitions leaving us, then stop tracking them."""
        keys = [(str(p.topic), int(p.partition)) for p in partitions]
        offsets = self._tracker.committable(keys)
        if offsets:
            self._make_durable()
            commit(consumer, offsets)
        self._tracker.forget(keys)


def _position(message: Message) -> tuple[str, int, int]:
    return (
        str(message.topic()),
        int(message.partition() or 0),
        int(message.offset() or 0),
    )
