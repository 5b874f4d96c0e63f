"""Waiting for the processor's answer to a signal this gateway accepted.

Every gateway replica reads every partition of ``signals.replies`` from the end, so
a reply finds its waiting request whichever replica holds it, and no replica keeps
any state beyond the requests still open.
"""

from __future__ import annotations

import asyncio
import threading
import uuid
from collections import defaultdict
from typing import Any

import structlog
from confluent_kafka import OFFSET_END, Consumer, KafkaException, TopicPartition

from schemas import codec

log = structlog.get_logger("gateway.replies")


class ReplyWaiter:
    """Hands replies read by a background consumer to the coroutines awaiting them."""

    def __init__(self, bootstrap_servers: str, topic: str) -> None:
        self._topic = topic
        self._consumer = Consumer(
            {
                "bootstrap.servers": bootstrap_servers,
                "group.id": f"unstuck-gateway-replies-{uuid.uuid4()}",
                "enable.auto.commit": False,
            }
        )
        self._waiting: dict[str, list[asyncio.Future[dict[str, Any]]]] = defaultdict(
            list
        )
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread = threading.Thread(target=self._run, name="replies", daemon=True)

    def start(self, loop: asyncio.AbstractEventLoop) -> None:
        """Assign every partition at its end, then follow it in a thread."""
        self._loop = loop
        metadata = self._consumer.list_topics(self._topic, timeout=10)
        topic = metadata.topics.get(self._topic)
        if topic is None or topic.error is not None:
            raise KafkaException(f"topic {self._topic} is not available")

        self._consumer.assign(
            [TopicPartition(self._topic, p, OFFSET_END) for p in topic.partitions]
        )
        self._thread.start()

    def expect(self, capture_id: str) -> asyncio.Future[dict[str, Any]]:
        """Register interest before producing, so a fast reply is never missed."""
        future: asyncio.Future[dict[str, Any]] = (
            asyncio.get_running_loop().create_future()
        )
        with self._lock:
            self._waiting[capture_id].append(future)
        return future

    async def wait(
        self, capture_id: str, future: asyncio.Future[dict[str, Any]], within: float
    ) -> dict[str, Any] | None:
        """The reply for a capture, or None when it does not come in time."""
        try:
            return await asyncio.wait_for(asyncio.shield(future), within)
        except TimeoutError:
            return None
        finally:
            self.forget(capture_id, future)

    def forget(self, capture_id: str, future: asyncio.Future[dict[str, Any]]) -> None:
        """Stop waiting, for a request that ends without awaiting its reply."""
        with self._lock:
            waiters = self._waiting.get(capture_id, [])
            if future in waiters:
                waiters.remove(future)
            if not waiters:
                self._waiting.pop(capture_id, None)
        if not future.done():
            future.cancel()

    def stop(self) -> None:
        self._stopping.set()
        self._thread.join(timeout=5)
        self._consumer.close()

    def _run(self) -> None:
        while not self._stopping.is_set():
            message = self._consumer.poll(0.1)
            if message is None or message.error() is not None:
                continue

            try:
                reply = codec.decode("reply", message.value())
            except codec.CodecError as error:
                log.warning(
                    "replies.undecodable", offset=message.offset(), error=str(error)
                )
                continue

            with self._lock:
                waiters = list(self._waiting.get(reply["capture_id"], []))
            if waiters and self._loop is not None:
                self._loop.call_soon_threadsafe(_resolve, waiters, reply)


def _resolve(
    waiters: list[asyncio.Future[dict[str, Any]]], reply: dict[str, Any]
) -> None:
    for future in waiters:
        if not future.done():
            future.set_result(reply)
