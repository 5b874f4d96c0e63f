"""An asyncio face on confluent-kafka's producer.

Writes are idempotent with ``acks=all``; a request learns its write is durable only
through the delivery report, which a poll thread hands back to the event loop, so
the loop never blocks on librdkafka. A full local queue (the broker is away or slow)
is retried briefly without blocking the loop, then refused as back-pressure: the
caller gets a 503 with Retry-After, never a 2xx for a write nobody acknowledged.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Sequence
from typing import Any

import structlog
from confluent_kafka import KafkaError, KafkaException, Producer

from ingest_gateway import metrics
from ingest_gateway.errors import BackPressureError

log = structlog.get_logger("gateway.producer")

POLL_SECONDS = 0.05
# A full queue drains in milliseconds when the broker is merely busy; waiting a
# little longer than that tells a burst from an outage without holding requests.
QUEUE_FULL_RETRIES = 5
QUEUE_FULL_WAIT_SECONDS = 0.02
QUEUE_FULL_RETRY_AFTER = 2


class SignalProducer:
    """Produces to Kafka and resolves an awaitable once the broker acknowledged."""

    def __init__(
        self,
        bootstrap_servers: str,
        delivery_timeout_ms: int,
        linger_ms: int = 5,
        queue_max_messages: int = 100_000,
    ) -> None:
        self._producer = Producer(
            {
                "bootstrap.servers": bootstrap_servers,
                "enable.idempotence": True,
                "acks": "all",
                # The Java clients' hash: every writer of signals.raw (this gateway,
                # the processor re-keying plain JSON, Faust itself) must put one
                # dedupe key on one partition, or a replay could escape dedupe.
                "partitioner": "murmur2_random",
                # A request waits at most this long for its acknowledgement; past it
                # the caller gets a 503 and retries, never a 2xx.
                "delivery.timeout.ms": delivery_timeout_ms,
                "linger.ms": linger_ms,
                "queue.buffering.max.messages": queue_max_messages,
                "compression.type": "lz4",
            }
        )
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._poll, name="producer-poll")
        self._thread.daemon = True
        self._thread.start()

    def _poll(self) -> None:
        while not self._stopping.is_set():
            self._producer.poll(POLL_SECONDS)

    async def send(self, topic: str, key: bytes, value: bytes) -> None:
        """Produce one message and wait for the broker's acknowledgement."""
        outcomes = await self.send_many(topic, [(key, value)])
        if outcomes[0] is not None:
            raise outcomes[0]

    async def send_many(
        self, topic: str, messages: Sequence[tuple[bytes, bytes]]
    ) -> list[BackPressureError | None]:
        """Produce messages in order; one outcome each once all are settled.

        One future covers the whole batch, so a thousand items cost one wake-up of
        the event loop, not a thousand.
        """
        loop = asyncio.get_running_loop()
        tracker = _BatchTracker(loop, len(messages))
        for index, (key, value) in enumerate(messages):
            try:
                await self._produce(topic, key, value, tracker.callback(index))
            except BackPressureError as error:
                tracker.refuse_from(index, len(messages), error)
                break
        return await tracker.future

    async def _produce(
        self, topic: str, key: bytes, value: bytes, on_delivery: Any
    ) -> None:
        for attempt in range(QUEUE_FULL_RETRIES + 1):
            try:
                self._producer.produce(
                    topic, key=key, value=value, on_delivery=on_delivery
                )
                return
            except BufferError as error:
                metrics.QUEUE_FULL.inc()
                if attempt == QUEUE_FULL_RETRIES:
                    raise BackPressureError(
                        "the producer queue is full", QUEUE_FULL_RETRY_AFTER
                    ) from error
            except KafkaException as error:
                raise BackPressureError(f"kafka refused the write: {error}") from error
            await asyncio.sleep(QUEUE_FULL_WAIT_SECONDS)

    def queue_length(self) -> int:
        """Messages produced but not yet acknowledged or failed."""
        return len(self._producer)

    def close(self, timeout: float) -> int:
        """Flush what is queued; returns the number of messages not delivered."""
        remaining: int = self._producer.flush(timeout)
        self._stopping.set()
        self._thread.join(timeout=2)
        if remaining:
            log.error("producer.undelivered_at_close", undelivered=remaining)
        else:
            log.info("producer.closed", undelivered=0)
        return remaining


class _BatchTracker:
    """Counts delivery reports of one batch, settling its future on the last one."""

    def __init__(self, loop: asyncio.AbstractEventLoop, size: int) -> None:
        self.future: asyncio.Future[list[BackPressureError | None]] = (
            loop.create_future()
        )
        self._loop = loop
        self._outcomes: list[BackPressureError | None] = [None] * size
        self._pending = size
        self._lock = threading.Lock()
        if size == 0:
            self.future.set_result([])

    def callback(self, index: int) -> Any:
        def on_delivery(error: KafkaError | None, _message: Any) -> None:
            if error is not None:
                metrics.DELIVERY_FAILURES.labels("signal").inc()
                log.warning("producer.delivery_failed", error=str(error))
                self._outcomes[index] = BackPressureError(
                    f"kafka did not take the write: {error}"
                )
            self._settle(1)

        return on_delivery

    def refuse_from(self, start: int, end: int, error: BackPressureError) -> None:
        """Items never handed to librdkafka fail now with the queue's error."""
        for index in range(start, end):
            self._outcomes[index] = error
        self._settle(end - start)

    def _settle(self, count: int) -> None:
        with self._lock:
            self._pending -= count
            done = self._pending == 0
        if done:
            self._loop.call_soon_threadsafe(_finish, self.future, self._outcomes)


def _finish(
    future: asyncio.Future[list[BackPressureError | None]],
    outcomes: list[BackPressureError | None],
) -> None:
    if not future.done():
        future.set_result(outcomes)
