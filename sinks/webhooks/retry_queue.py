"""Produces webhooks to the retry topic with the state of their next attempt."""

from __future__ import annotations

import asyncio
from typing import Any

from confluent_kafka import Producer

from sinks.errors import SinkError
from sinks.webhooks.schedule import RetryState

FLUSH_S = 30.0


class RetryScheduleError(SinkError):
    """A scheduled retry was not acknowledged, so the source offset must not move."""


class RetryQueue:
    """An idempotent producer to ``webhooks.retry``; ``flush`` makes sends durable."""

    def __init__(self, bootstrap_servers: str, topic: str) -> None:
        self.topic = topic
        self._failures: list[str] = []
        self._producer = Producer(
            {
                "bootstrap.servers": bootstrap_servers,
                "enable.idempotence": True,
                "acks": "all",
                "linger.ms": 5,
            }
        )

    def schedule(
        self, key: bytes | None, value: bytes, state: RetryState
    ) -> asyncio.Future[None]:
        """Queue ``value`` for the attempt and time in ``state``.

        The future settles when the broker acknowledged the write (or refused
        it); ``poll`` must be called regularly on the loop for that to happen.
        """
        loop = asyncio.get_running_loop()
        future: asyncio.Future[None] = loop.create_future()

        def on_delivery(error: Any, _message: Any) -> None:
            self._on_delivery(error, _message)
            loop.call_soon_threadsafe(_settle, future, error)

        self._producer.produce(
            self.topic,
            key=key,
            value=value,
            headers=state.headers(),
            on_delivery=on_delivery,
        )
        self._producer.poll(0)
        return future

    def poll(self) -> None:
        """Serve delivery callbacks without waiting."""
        self._producer.poll(0)

    def flush(self, timeout: float = FLUSH_S) -> None:
        """Wait until every queued retry is acknowledged, or raise."""
        remaining = self._producer.flush(timeout)
        failures, self._failures = self._failures, []
        if remaining or failures:
            raise RetryScheduleError(
                f"retries not acknowledged: {remaining} pending, {failures}"
            )

    def _on_delivery(self, error: Any, _message: Any) -> None:
        if error is not None:
            self._failures.append(str(error))


def _settle(future: asyncio.Future[None], error: Any) -> None:
    if future.done():
        return
    if error is None:
        future.set_result(None)
    else:
        future.set_exception(RetryScheduleError(f"retry not acknowledged: {error}"))
