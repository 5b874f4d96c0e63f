"""The processor's outputs, produced by confluent-kafka, and when to acknowledge.

Faust's own ``topic.send`` costs a worker more than the signal itself: every send
builds a future message, runs Faust's serializers and sensors, and goes through
aiokafka's pure-Python accumulator and murmur2 (profiled: about half of a worker's
time went into Faust sends and the events they scheduled). librdkafka does the same
work in C. The partitioner is ``murmur2_random``, Java's and aiokafka's, so every
key lands on the partition Faust put it on before.

Leaving Faust's producer means Faust no longer knows when an output is durable, so
the agent reads without automatic acknowledgements and each raw message is
acknowledged here once the broker has acknowledged every output it caused. Faust
commits only acknowledged offsets, so a crash, a kill or a shutdown at any point
replays what was not yet delivered, never skips it; the dedupe table recognises the
replay and the idempotent stages absorb its repeated outputs.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any, Final

import structlog
from confluent_kafka import KafkaError, Message, Producer

log = structlog.get_logger("processor.delivery")

# How often delivery reports are collected while the agent waits for input; the
# agent also collects them after every message it handles.
POLL_INTERVAL_SECONDS: Final = 0.005
# Outputs waiting for the broker beyond which the agent stops reading, so a slow
# or absent broker turns into consumer lag instead of memory.
MAX_IN_FLIGHT: Final = 50_000

Failure = Callable[[KafkaError], None]


class Ticket:
    """The outputs of one raw message; its acknowledgement runs after the last."""

    __slots__ = ("_acknowledge", "_closed", "_outstanding")

    def __init__(self, acknowledge: Callable[[], Any]) -> None:
        self._acknowledge = acknowledge
        self._outstanding = 0
        self._closed = False

    def add(self) -> None:
        """One more output on its way."""
        self._outstanding += 1

    def delivered(self) -> None:
        """One output acknowledged by the broker."""
        self._outstanding -= 1
        if self._closed and self._outstanding == 0:
            self._acknowledge()

    def close(self) -> None:
        """Handling is over: no more outputs will be added."""
        self._closed = True
        if self._outstanding == 0:
            self._acknowledge()


class Outputs:
    """An idempotent producer whose deliveries acknowledge raw messages."""

    def __init__(
        self, bootstrap_servers: str, linger_seconds: float, on_failure: Failure
    ) -> None:
        self._producer = Producer(
            {
                "bootstrap.servers": bootstrap_servers,
                # acks=all with ordered retries: an output is either written once
                # or reported failed, never duplicated by the producer itself.
                "enable.idempotence": True,
                # Faust's partitioner, so keys keep the partitions they had.
                "partitioner": "murmur2_random",
                # The processor's linger setting, as Faust's producer had it.
                "linger.ms": linger_seconds * 1000,
                # Uncompressed, as Faust's producer (aiokafka's default) wrote;
                # lz4 made each produce call slower on the 2-core machine (10.9
                # against 7.9 us a call, one run of 30,000).
                "compression.type": "none",
            }
        )
        self._on_failure = on_failure
        self._in_flight = 0

    @property
    def in_flight(self) -> int:
        """Outputs produced and not yet acknowledged by the broker."""
        return self._in_flight

    @property
    def backlogged(self) -> bool:
        """Whether the agent should wait for the broker before reading on."""
        return self._in_flight > MAX_IN_FLIGHT

    def send(
        self,
        ticket: Ticket,
        topic: str,
        key: bytes | None,
        value: bytes,
        partition: int = -1,
    ) -> None:
        """Queue one output; ``ticket`` learns when the broker has it.

        ``partition`` -1 leaves the choice to the partitioner.
        """

        def report(error: KafkaError | None, _message: Message) -> None:
            self._in_flight -= 1
            if error is not None:
                self._on_failure(error)
                return
            ticket.delivered()

        ticket.add()
        self._in_flight += 1
        while True:
            try:
                self._producer.produce(topic, value, key, partition, on_delivery=report)
                return
            except BufferError:
                # librdkafka's queue is full: wait for the broker briefly.
                self._producer.poll(0.05)

    def poll(self) -> None:
        """Run the delivery reports that have arrived, without waiting."""
        self._producer.poll(0)

    async def drain(self, limit: int = MAX_IN_FLIGHT) -> None:
        """Wait until at most ``limit`` outputs are in flight."""
        while self._in_flight > limit:
            self._producer.poll(0)
            await asyncio.sleep(POLL_INTERVAL_SECONDS)

    def flush(self, timeout: float) -> int:
        """Deliver what is queued (acknowledging its messages); what is left."""
        remaining = int(self._producer.flush(timeout))
        if remaining:
            log.warning("delivery.flush_incomplete", remaining=remaining)
        return remaining

    async def collect(self) -> None:
        """Run delivery reports in the background, until cancelled.

        Without it, messages handled just before the input pauses would wait
        for the next message to be acknowledged, and Faust's rebalance (which
        waits for every read message to be acknowledged) would wait with them.
        """
        while True:
            self._producer.poll(0)
            await asyncio.sleep(POLL_INTERVAL_SECONDS)
