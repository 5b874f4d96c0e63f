"""Processor throughput against a raw consume-produce loop on the same messages.

Run: ``python -m benchmarks.processor [--count N] [--guarantee both]`` with
``KAFKA_BOOTSTRAP_SERVERS`` set (else a local broker is started in a temporary
directory). Each run gets a fresh topic prefix and the same pre-encoded
``signal_raw`` messages. The raw loop and the workers each run as their own
processes, are started first, and are timed by one function (``measure``): from
the first produced message to the last output counted on ``records`` by a
consumer assigned before producing. Dedupe and scoring are on (a built-in
autoqualified type). Each line gives msg/s to the last record, msg/s until the
audience agent has also written every lead ("all done", since it runs in the
worker and may trail the records), and the CPU time of the measured processes per
message, which other people's load on the machine moves far less than the wall
clock. Nothing is asserted, since timings depend on the machine.

Issue 4, first round (the loop then ran inside the benchmark after producing
everything, so it was timed as produce-then-copy while workers overlapped the
two, and the counter joined a group after producing): raw loop 7,473/s; 1 worker
1,239/s (0.17 of raw); 2 workers 1,182/s.

Second round, ``python -m benchmarks.processor --count 20000`` on the shared
2-core machine at load average 2 to 3, one run each, the two trees back to back
(before is commit 1d0c340, run with orjson installed, which its Faust codec
then used too):

- before: raw loop 18,865/s; 1 worker 1,295/s to the last record, 620/s all
  done, 1,431 us CPU a message (0.07 of raw); 2 workers 1,815/s, 880/s all done.
- after: raw loop 18,723/s; 1 worker 1,270/s, 953/s all done, 852 us CPU a
  message (0.07 of raw, 0.05 all done); 2 workers 1,367/s, 950/s all done.

The time to the last record hardly moved because the audience agent now keeps
up during the batch instead of trailing it; the time until everything is done
and the CPU a message are what fell. Under load average 12 to 24 the same pair
gave 387/s against 636/s all done (1,416 against 915 us).

Worker CPU a message against 1d0c340 in the same broker, trees alternated, one
run each (``--count 20000``, 1 worker), as the changes went in: decoding with
the current writer schema as the reader object (fastavro then skips a deep
schema comparison, 38 to 12 us a decode): 0.72 of before (1,014 against 1,402
us); with the processor writing each record's facts to ``audience.leads``
itself, instead of a repartition agent reading ``records`` back (a second Faust
consumption, an Avro decode and an aiokafka send a signal): 0.63 (714 against
1,142 us); with record and reply unions named up front
(``stream_processors.encoding``, 41 to 24 us a record) and the dedupe changelog
written with orjson, which Faust's codec then uses too: 0.56 (854 against 1,526
us; 752/s against 468/s all done). The fair raw loop measures two to four times
what the old one did, so these ratios are not comparable with the first
round's 0.17.

What limits it now, sampled with py-spy over a batch: the signal's own work
(decode, normalization, scoring, two Avro encodes) is about a quarter; the four
librdkafka produce calls a signal (record, audience fact, reply, changelog) a
tenth; Faust's and aiokafka's consumer machinery a fifth, most of it a task pair
per message in Faust's fetch loop (``wait_first``), paid again by the audience
agent for its own input, whose table still writes its changelog through Faust's
producer. The broker takes about a core of two, so a second worker adds
contention, not capacity. The half-of-raw target is not met: half of a 20,000/s
loop leaves 100 us a message, and Faust's consumer path alone (about 75 us a
message with an agent that does nothing, first round) takes most of that before
a signal is decoded.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from confluent_kafka import OFFSET_BEGINNING, Consumer, Producer, TopicPartition

from deploy.local_kafka import LocalKafka, pick_port
from schemas import codec, keys
from schemas.identity import canonicalize
from schemas.topic_setup import ensure_topics
from schemas.topics import AUDIENCE_DEFINITIONS, AUDIENCE_LEADS, RECORDS, SIGNALS_RAW
from schemas.workspace import new_workspace, publish_workspace
from stream_processors.audiences.definitions import definition_key, new_definition

WORKSPACE_ID = str(uuid.uuid4())


def messages(count: int) -> list[tuple[bytes, bytes]]:
    """``count`` distinct signals, keyed and encoded as the gateway would."""
    occurred = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
    received = datetime.now(UTC)
    out = []
    for i in range(count):
        identity = {
            "email": f"person{i}@stripe.com",
            "linkedin_url": None,
            "company_domain": "stripe.com",
            "first_name": "Ana",
            "last_name": "Diaz",
            "title": "VP of Engineering",
        }
        dedupe_key = keys.dedupe_key(
            WORKSPACE_ID, "website_visit", "bench", canonicalize(identity), occurred
        )
        value = codec.encode(
            "signal_raw",
            {
                "capture_id": keys.capture_id(dedupe_key),
                "workspace_id": WORKSPACE_ID,
                "dedupe_key": dedupe_key,
                "body_sha256": "0" * 64,
                "received_at": received,
                "signal_type": "website_visit",
                "source": "bench",
                "event_name": "pricing_page_viewed",
                "occurred_at": occurred,
                "identity": identity,
                "context_json": '{"team_size": 14}',
                "idempotency_key": None,
            },
        )
        out.append((dedupe_key.encode(), value))
    return out


def produce_all(bootstrap: str, topic: str, batch: list[tuple[bytes, bytes]]) -> None:
    producer = Producer(
        {"bootstrap.servers": bootstrap, "linger.ms": 20, "compression.type": "lz4"}
    )
    for key, value in batch:
        while True:
            try:
                producer.produce(topic, key=key, value=value)
                break
            except BufferError:
                producer.poll(0.05)
    producer.flush(120)


class OutputCounter:
    """Counts one topic's messages, attached before the first input is produced.

    Assigned to every partition from the beginning rather than joining a group,
    so neither measurement pays (or hides) a group join at its end.
    """

    def __init__(self, bootstrap: str, topic: str, partitions: int) -> None:
        self._consumer = Consumer(
            {
                "bootstrap.servers": bootstrap,
                "group.id": f"bench-count-{uuid.uuid4()}",
                "enable.auto.commit": False,
            }
        )
        self._topic = topic
        self._consumer.assign(
            [
                TopicPartition(topic, partition, OFFSET_BEGINNING)
                for partition in range(partitions)
            ]
        )

    def until(self, count: int, timeout: float) -> float:
        """Read until ``count`` messages were seen; the monotonic end time."""
        seen = 0
        deadline = time.monotonic() + timeout
        try:
            while seen < count and time.monotonic() < deadline:
                batch = self._consumer.consume(10_000, 0.05)
                seen += sum(1 for m in batch if not m.error())
        finally:
            self._consumer.close()
        if seen < count:
            raise TimeoutError(f"{self._topic}: {seen} of {count} in {timeout}s")
        return time.monotonic()


@dataclass(frozen=True)
class Figures:
    """One measurement: wall-clock throughput and the CPU its processes spent.

    ``rate`` counts until the last record is out; ``done_rate`` until the last
    signal has also been through the audience agents (the same for the raw
    loop, which has none), since those run in the worker and may trail. On a
    shared machine the wall clock moves with other people's load; the CPU time
    per message of the measured processes (to the end of ``done_rate``) moves
    much less, so it is the figure to compare changes by.
    """

    rate: float
    done_rate: float
    cpu_us: float

    def __str__(self) -> str:
        return (
            f"{self.rate:6.0f} msg/s, all done {self.done_rate:6.0f} msg/s, "
            f"{self.cpu_us:4.0f} us CPU/msg"
        )


def cpu_seconds(pids: list[int]) -> float:
    """User and system CPU time of the given processes so far (Linux /proc)."""
    total = 0
    for pid in pids:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rpartition(")")[2].split()
        total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


def measure(
    bootstrap: str,
    prefix: str,
    batch: list[tuple[bytes, bytes]],
    pids: list[int],
    trailing: OutputCounter | None = None,
) -> Figures:
    """Throughput from the first input produced to the last output seen.

    The raw loop and the processor are timed by this one function: inputs on
    ``signals.raw``, outputs counted on ``records`` (and on ``trailing``, one a
    signal, when the processes do more after the record), both loops already
    running in their own processes (``pids``, whose CPU time is taken too).
    """
    records = OutputCounter(bootstrap, RECORDS.name(prefix), RECORDS.partitions)
    cpu_before = cpu_seconds(pids)
    started = time.monotonic()
    produce_all(bootstrap, SIGNALS_RAW.name(prefix), batch)
    out = records.until(len(batch), 600)
    done = trailing.until(len(batch), 600) if trailing else out
    cpu = cpu_seconds(pids) - cpu_before
    count = len(batch)
    return Figures(count / (out - started), count / (done - started), cpu * 1e6 / count)


def loop_forever(bootstrap: str, prefix: str) -> None:
    """A bare confluent-kafka consume-produce loop, until SIGTERM.

    It copies each ``signals.raw`` message to ``records`` unchanged: the floor
    of a consume-produce process on this broker. It says ``ready`` on stdout
    once it holds its partitions, so it is timed like a settled worker.
    """
    stopping = False

    def stop(_signum: int, _frame: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, stop)
    source, target = SIGNALS_RAW.name(prefix), RECORDS.name(prefix)
    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": f"{prefix}loop",
            "auto.offset.reset": "earliest",
        }
    )
    producer = Producer(
        {"bootstrap.servers": bootstrap, "linger.ms": 5, "enable.idempotence": True}
    )
    consumer.subscribe([source])
    while not consumer.assignment():
        consumer.poll(0.2)
    print("ready", flush=True)
    while not stopping:
        for message in consumer.consume(1000, 0.2):
            if message.error():
                continue
            producer.produce(target, key=message.key(), value=message.value())
        producer.poll(0)
    producer.flush(60)
    consumer.close()


def raw_loop(bootstrap: str, batch: list[tuple[bytes, bytes]]) -> Figures:
    """Messages a second through the bare loop, run as its own process."""
    prefix = f"bench{uuid.uuid4().hex[:8]}."
    ensure_topics(bootstrap, prefix)
    process = subprocess.Popen(
        [sys.executable, "-m", "benchmarks.processor", "--loop", prefix],
        env={**os.environ, "KAFKA_BOOTSTRAP_SERVERS": bootstrap},
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        if process.stdout.readline().strip() != "ready":
            raise RuntimeError("the raw loop ended before it was ready")
        return measure(bootstrap, prefix, batch, [process.pid])
    finally:
        stop(process)


def stop(process: subprocess.Popen[Any]) -> None:
    """Terminate a benchmark process, killing it if it lingers."""
    process.terminate()
    try:
        process.wait(30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def owned(port: int) -> int:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics") as answer:
            text = str(answer.read().decode())
    except OSError:
        return 0
    return text.count("unstuck_processor_consumer_lag_messages{")


# Issue 8's figure: a workspace with ten audiences, each evaluated for every lead a
# signal touches. Lead fields, context paths and time windows, like real ones.
AUDIENCE_CONDITIONS = (
    "signals.context.team_size > 10",
    "signals.context.team_size > 100",
    'lead.persona_code == "EXEC_BUYER"',
    "lead.icp_score >= 50",
    'count(signals.signal_type == "website_visit", 14d) >= 1',
    'count(signals.signal_type == "demo_request", 30d) >= 1',
    'signals.event_name == "pricing_page_viewed" and lead.icp_score >= 20',
    'signals.source in ["bench", "segment"]',
    "exists(signals.context.plan)",
    'not (lead.persona_code == "PRACTITIONER")',
)


def define_audiences(bootstrap: str, prefix: str, count: int) -> None:
    """Publish ``count`` audiences of the benchmark workspace, as the CLI would."""
    producer = Producer({"bootstrap.servers": bootstrap, "acks": "all"})
    for n in range(count):
        condition = AUDIENCE_CONDITIONS[n % len(AUDIENCE_CONDITIONS)]
        definition = new_definition(WORKSPACE_ID, f"bench-{n}", condition)
        producer.produce(
            AUDIENCE_DEFINITIONS.name(prefix),
            key=definition_key(WORKSPACE_ID, definition["audience_id"]).encode(),
            value=codec.encode("audience_definition", definition),
        )
    if producer.flush(30):
        raise RuntimeError("audience definitions were not acknowledged")


def processor(
    bootstrap: str,
    batch: list[tuple[bytes, bytes]],
    workers: int,
    guarantee: str,
    audiences: int = 0,
) -> Figures:
    """Throughput through ``workers`` processor processes."""
    prefix = f"bench{uuid.uuid4().hex[:8]}."
    ensure_topics(bootstrap, prefix)
    config, _ = new_workspace("bench", WORKSPACE_ID)
    publish_workspace(bootstrap, prefix, config)
    define_audiences(bootstrap, prefix, audiences)
    ports = [pick_port(0) for _ in range(workers)]
    data = tempfile.mkdtemp(prefix="bench-processor-")
    processes = []
    for port in ports:
        env = {
            **os.environ,
            "KAFKA_BOOTSTRAP_SERVERS": bootstrap,
            "UNSTUCK_TOPIC_PREFIX": prefix,
            "UNSTUCK_METRICS_PORT": str(port),
            "UNSTUCK_LAG_INTERVAL_SECONDS": "0.5",
            "UNSTUCK_PROCESSING_GUARANTEE": guarantee,
            "UNSTUCK_DATA_DIR": data,
            "UNSTUCK_LOG_LEVEL": "WARNING",
        }
        processes.append(
            subprocess.Popen(
                [sys.executable, "-m", "stream_processors"],
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=open(Path(data) / f"w{port}.log", "wb"),  # noqa: SIM115
            )
        )
    try:
        deadline = time.monotonic() + 120
        while sum(owned(p) for p in ports) != SIGNALS_RAW.partitions or not all(
            owned(p) for p in ports
        ):
            if time.monotonic() > deadline:
                raise TimeoutError(f"workers never settled; logs in {data}")
            time.sleep(0.5)
        # Every signal of the batch is a new lead, and the audience agent writes
        # each lead's state once: its changelog says when they are all through.
        leads = OutputCounter(
            bootstrap,
            f"{prefix}unstuck-processor-audience_leads-changelog",
            AUDIENCE_LEADS.partitions,
        )
        pids = [p.pid for p in processes]
        return measure(bootstrap, prefix, batch, pids, leads)
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            stop(process)


def main() -> None:
    """Print throughput figures and their ratios."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--count", type=int, default=20_000)
    parser.add_argument(
        "--guarantee",
        choices=["at_least_once", "exactly_once", "both"],
        default="at_least_once",
    )
    # Internal: the raw loop's own process, given its topic prefix.
    parser.add_argument("--loop", metavar="PREFIX", help=argparse.SUPPRESS)
    args = parser.parse_args()

    bootstrap = os.environ.get("KAFKA_BOOTSTRAP_SERVERS")
    if args.loop:
        loop_forever(bootstrap or "127.0.0.1:9092", args.loop)
        return
    broker = None
    if not bootstrap:
        broker = LocalKafka(
            tempfile.mkdtemp(prefix="bench-kafka-"), port=0, controller_port=0
        )
        broker.start()
        bootstrap = broker.bootstrap_servers
    try:
        run(bootstrap, args.count, args.guarantee)
    finally:
        if broker is not None:
            broker.stop()


def run(bootstrap: str, count: int, guarantee: str) -> None:
    batch = messages(count)
    loop = raw_loop(bootstrap, batch)
    print(f"raw confluent-kafka loop : {loop}")
    one = processor(bootstrap, batch, 1, "at_least_once")
    print(f"processor, 1 worker      : {one}  ({one.rate / loop.rate:.2f} of raw)")
    two = processor(bootstrap, batch, 2, "at_least_once")
    print(f"processor, 2 workers     : {two}  ({two.rate / loop.rate:.2f} of raw)")
    ten = processor(bootstrap, batch, 1, "at_least_once", audiences=10)
    print(f"1 worker, 10 audiences   : {ten}  ({ten.rate / loop.rate:.2f} of raw)")
    if guarantee in ("exactly_once", "both"):
        eos = processor(bootstrap, batch, 1, "exactly_once")
        print(f"exactly_once, 1 worker   : {eos}  ({eos.rate / one.rate:.2f} of alo)")


if __name__ == "__main__":
    main()
