"""An asyncio face on confluent-kafka's producer.

Writes are idempotent with ``acks=all``; a request learns its write is durable only
through the delivery report, which a poll thread hands back to the event loop, so
the loop never blocks on librdkafka.
"""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import structlog
from confluent_kafka import KafkaError, KafkaException, Producer

from ingest_gateway.errors import BackPressureError

log = structlog.get_logger("gateway.producer")

POLL_SECONDS = 0.05


class SignalProducer:
    """Produces to Kafka and resolves an awaitable once the broker acknowledged."""

    def __init__(self, bootstrap_servers: str, delivery_timeout_ms: int) -> None:
        self._producer = Producer(
            {
                "bootstrap.servers": bootstrap_servers,
                "enable.idempotence": True,
                "acks": "all",
                # A request waits at most this long for its acknowledgement; past it
                # the caller gets a 503 and retries, never a 2xx.
                "delivery.timeout.ms": delivery_timeout_ms,
                "linger.ms": 2,
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
        loop = asyncio.get_running_loop()
        future: asyncio.Future[None] = loop.create_future()

        def on_delivery(error: KafkaError | None, _message: Any) -> None:
            loop.call_soon_threadsafe(_settle, future, error)

        try:
            self._producer.produce(topic, key=key, value=value, on_delivery=on_delivery)
        except BufferError as error:
            raise BackPressureError("the producer queue is full", 2) from error
        except KafkaException as error:
            raise BackPressureError(f"kafka refused the write: {error}") from error

        await future

    def queue_length(self) -> int:
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


def _settle(future: asyncio.Future[None], error: KafkaError | None) -> None:
    if future.done():
        return
    if error is None:
        future.set_result(None)
    else:
        future.set_exception(
            BackPressureError(f"kafka did not take the write: {error}")
        )
