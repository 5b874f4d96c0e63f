"""The Faust worker: dedupe by key, then normalize, qualify and emit.

Run with ``unstuck processor`` (or ``python -m stream_processors``); workers that
share ``UNSTUCK_PROCESSOR_ID`` share the raw topic's partitions.

The raw topic carries Avro ``signal_raw`` values from the gateway, and may carry
plain JSON signal bodies from old clients or replay tools when they name their
workspace in the ``unstuck-workspace-id`` header (see ``stream_processors.plain``):
those are keyed as the gateway would and written back as Avro, keyed by their dedupe
key, so they land on the partition that owns their key. Anything a worker cannot
decode or process goes to the dead-letter topic with the reason, the original bytes,
topic, partition and offset, and the partition moves on.

Processing guarantee: at least once, with idempotent outputs. A message replayed
after a crash or a rebalance finds its own entry in the changelog-backed dedupe
table (same partition and offset) and re-emits the same capture id, and the records
sink inserts on the capture-id primary key; so replays cost repeated messages on
``records`` but never a second capture. Faust's ``exactly_once`` (Kafka
transactions) was measured with ``python -m benchmarks.processor --guarantee both``
on the 2-core development machine: 637 msg/s against 517 msg/s at least once, one
run each, within this machine's run-to-run noise, so throughput did not decide it.
What did: a transaction covers Kafka only, so PostgreSQL and webhook delivery need
the idempotent stages either way; outputs become visible only when a transaction
commits, once per commit interval, which a gateway waiting for its reply would pay
on every call; and Faust's transactional path raised ``IllegalOperation`` on
shutdown in those runs. ``UNSTUCK_PROCESSING_GUARANTEE=exactly_once`` remains
available for measuring.

Throughput (issue 4): under at-least-once the outputs leave through confluent-kafka
(``stream_processors.delivery``) and a raw message is acknowledged, hence
committed, only once the broker has all of its outputs; under exactly-once they
stay inside Faust's transaction. Faust's terminal spinner is off (``Worker``).
The audience agent's input (``audience.leads``) is one of those outputs rather
than a second consumption of ``records``, and records and replies are encoded
with their unions named (``stream_processors.encoding``): with the decode fix in
``schemas.codec``, a signal costs 0.6 of the CPU it did (one worker, 852 against
1,431 us) and 953/s against 620/s get through the audience agent, still far from
half of the raw loop (0.05 of it). Figures, the command and what
limits it are in ``benchmarks/processor.py``.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import faust
import orjson
import structlog

from schemas import codec
from schemas.compacted import CompactedView
from schemas.identity import IdentityError
from schemas.topics import (
    AUDIENCE_LEADS,
    COMPANIES,
    RECORDS,
    SIGNALS_DLQ,
    SIGNALS_RAW,
    SIGNALS_REPLIES,
    WEBHOOKS,
)
from schemas.workspace import WorkspaceDirectory
from stream_processors import lag, metrics, plain
from stream_processors.audiences.state import observation
from stream_processors.dedupe import Seen, classify, table_entry
from stream_processors.delivery import Outputs, Ticket
from stream_processors.encoding import encode_record, encode_reply
from stream_processors.exits import AGENT_CRASHED_EXIT, OFFSET_GAP_EXIT
from stream_processors.expiry import Retention, expired_keys, is_expired
from stream_processors.settings import ProcessorSettings
from stream_processors.signal import Outcome, process_signal, reply_for

log = structlog.get_logger("processor")

settings = ProcessorSettings()
prefix = settings.topic_prefix
retention = Retention(
    settings.dedupe_retention_seconds, settings.dedupe_retention_by_workspace
)
max_future = timedelta(seconds=settings.max_future_seconds)


class Worker(faust.Worker):
    """Faust's worker without its terminal progress spinner.

    To spin on every log record, Faust lowers the root logger to DEBUG, so
    aiokafka and Faust then build a record for every send only for the handler
    to drop it: 7 records per signal, about a tenth of a worker's time in a
    profile. The root logger keeps the level the worker was started with.
    """

    def on_setup_root_logger(self, logger: logging.Logger, level: int) -> None:
        self.spinner = None


app_name = f"{prefix}{settings.processor_id}"
app = faust.App(
    app_name,
    broker=f"kafka://{settings.kafka_bootstrap_servers}",
    store=settings.store_url,
    datadir=str(settings.app_data_dir(app_name)),
    topic_partitions=SIGNALS_RAW.partitions,
    topic_replication_factor=settings.topic_replication_factor,
    broker_commit_interval=settings.commit_interval_seconds,
    broker_session_timeout=settings.session_timeout_seconds,
    broker_heartbeat_interval=min(3.0, settings.session_timeout_seconds / 3),
    consumer_auto_offset_reset="earliest",
    processing_guarantee=settings.processing_guarantee,
    producer_linger=settings.producer_linger_seconds,
    web_enabled=False,
    Worker=Worker,
    # Keys are raw bytes (the dedupe key); values are JSON table entries.
    key_serializer="raw",
    value_serializer="json",
    # Faust declares its changelog topics itself, with the table's partition count;
    # the catalog topics exist already and are left as they are.
    topic_allow_declare=True,
)


def _raw_topic(name: str) -> faust.TopicT:
    return app.topic(
        name,
        key_type=bytes,
        value_type=bytes,
        key_serializer="raw",
        value_serializer="raw",
        allow_empty=True,
    )


raw_topic_name = SIGNALS_RAW.name(prefix)
raw_signals = _raw_topic(raw_topic_name)
records = _raw_topic(RECORDS.name(prefix))
webhooks = _raw_topic(WEBHOOKS.name(prefix))
replies = _raw_topic(SIGNALS_REPLIES.name(prefix))
dead_letters = _raw_topic(SIGNALS_DLQ.name(prefix))
# The audience agent's input, keyed by lead (stream_processors.audiences.agent).
audience_leads = _raw_topic(AUDIENCE_LEADS.name(prefix))

# Keyed by the dedupe key, so it is partitioned exactly like the raw topic and each
# worker holds the keys of the partitions it consumes. Entries older than their
# workspace's retention window are swept (see stream_processors.expiry).
dedupe_table = app.Table(
    "dedupe",
    default=None,
    key_type=bytes,
    partitions=SIGNALS_RAW.partitions,
)
changelog_name = dedupe_table.changelog_topic.get_topic_name()

workspaces = WorkspaceDirectory(settings.kafka_bootstrap_servers, prefix)
companies = CompactedView(
    settings.kafka_bootstrap_servers, COMPANIES.name(prefix), "company"
)
positions = lag.Positions()
guard_gaps = settings.processing_guarantee == "at_least_once"
# Outputs bypass Faust's producer except inside exactly-once transactions.
direct = settings.processing_guarantee == "at_least_once"


def delivery_failed(error: Any) -> None:
    """An output the broker refused for good: restart and replay, lose nothing."""
    log.critical("processor.delivery_failed", error=str(error))
    os._exit(AGENT_CRASHED_EXIT)


outputs = Outputs(
    settings.kafka_bootstrap_servers,
    settings.producer_linger_seconds,
    delivery_failed,
)


def load_configuration(timeout: float = 120.0) -> None:
    """Materialize workspaces and companies before the worker starts consuming.

    They used to be read while the agent waited on its first message. A worker
    restarted in B08 then went from a partition's first offset straight to its
    146th, and the offset-gap guard ended it, again and again. Read before Faust
    starts, they never keep the agent waiting, and in the same run the restarted
    worker read every offset in turn.
    """
    workspaces.start()
    companies.start()
    workspaces.wait_ready(timeout)
    companies.wait_ready(timeout)
    log.info("processor.configuration_ready", workspaces=len(workspaces))


@app.task
async def collect_deliveries() -> None:
    """Acknowledge raw messages as their outputs reach the broker."""
    await outputs.collect()


@app.agent(raw_signals)
async def handle_signals(stream: faust.StreamT[bytes]) -> None:
    """One raw message at a time, per partition, in offset order.

    Each message's failure is dead-lettered by ``handle``; what escapes it (the
    broker refusing our own sends) ends the worker with a non-zero status, so it
    is restarted and replays, instead of idling with a crashed agent. Stopping,
    the outputs on their way are delivered first, so the final commit covers
    them rather than replaying them.
    """
    try:
        if direct:
            await acknowledge_on_delivery(stream)
        else:
            await acknowledge_in_transaction(stream)
    except asyncio.CancelledError:
        outputs.flush(5.0)
        raise
    except BaseException as error:
        log.critical("processor.agent_crashed", error=repr(error))
        os._exit(AGENT_CRASHED_EXIT)


async def acknowledge_on_delivery(stream: faust.StreamT[bytes]) -> None:
    """At least once: a message is acknowledged when its outputs are delivered.

    Faust commits only acknowledged offsets, so nothing is committed before its
    outputs are on the broker, and Faust's rebalance waits for them too.
    """
    # Faust's Stream has noack(); its StreamT protocol does not declare it.
    manual: faust.StreamT[bytes] = stream.noack()  # type: ignore[attr-defined]
    async for event in manual.events():
        message = event.message
        check_contiguous(message.topic, message.partition, message.offset)
        ticket = Ticket(event.ack)
        await handle(message, ticket)
        ticket.close()
        positions.processed(message.partition, message.offset, message.timestamp)

        outputs.poll()
        if outputs.backlogged:
            await outputs.drain()


async def acknowledge_in_transaction(stream: faust.StreamT[bytes]) -> None:
    """Exactly once: Faust's transaction carries the outputs and the offsets."""
    async for event in stream.events():
        message = event.message
        await handle(message, None)
        positions.processed(message.partition, message.offset, message.timestamp)


async def send(
    ticket: Ticket | None, topic: faust.TopicT, key: bytes | None, value: bytes
) -> None:
    """Produce one output the way the processing guarantee requires."""
    if ticket is None:
        await topic.send(key=key, value=value)
    else:
        outputs.send(ticket, topic.get_topic_name(), key, value)


def check_contiguous(topic: str, partition: int, offset: int) -> None:
    """End the worker when Faust skips an offset, before the skip is committed.

    The raw topic is neither compacted nor transactional under at-least-once, so
    its offsets are contiguous; yet a two-worker benchmark run once lost one
    message (partition 5, offset 1 of 20,000) while the group settled, the kind
    of loss faust-streaming#318 reports. Faust commits past offsets it never
    delivered, so the worker exits before acknowledging the message after the
    hole: the partition resumes from the last committed offset, at or before the
    hole, and the dedupe table absorbs what is read twice. Under exactly-once,
    transaction markers make legitimate holes, so the check is off there.
    """
    expected = positions.next_offset(partition)
    if not guard_gaps or expected is None or offset <= expected:
        return
    metrics.OFFSET_GAPS.inc()
    log.critical(
        "processor.offset_gap",
        topic=topic,
        partition=partition,
        expected=expected,
        offset=offset,
    )
    os._exit(OFFSET_GAP_EXIT)


@app.on_partitions_revoked.connect
async def forget_positions(
    _sender: Any, /, *_args: Any, signal: Any, **_kwargs: Any
) -> None:
    """A partition that moves may come back later from another offset."""
    positions.forget(set())
    log.info("processor.partitions_revoked")


@app.on_partitions_assigned.connect
async def log_assignment(
    _sender: Any, /, *args: Any, signal: Any, **_kwargs: Any
) -> None:
    """Which raw partitions this worker reads, so a stalled one can be named."""
    assigned = args[0] if args else set()
    log.info(
        "processor.partitions_assigned",
        partitions=sorted(
            tp.partition for tp in assigned if tp.topic == raw_topic_name
        ),
    )


@app.on_rebalance_complete.connect
async def log_recovered(
    _sender: Any, /, *_args: Any, signal: Any, **_kwargs: Any
) -> None:
    """Tables are recovered and the agents read again."""
    log.info("processor.rebalance_complete")


async def handle(message: Any, ticket: Ticket | None) -> None:
    """Route one message by its shape; no exception leaves without a dead letter."""
    try:
        if (
            message.value is not None
            and message.value[:2] == codec.SINGLE_OBJECT_MARKER
        ):
            await handle_avro(message, ticket)
        else:
            await handle_plain(message, ticket)
    except Exception as error:
        # Whatever a message breaks, the partition must keep moving past it.
        await dead_letter(ticket, message, "processing_failed", error)


async def handle_avro(message: Any, ticket: Ticket | None) -> None:
    """Classify against the dedupe table, then emit or answer the duplicate."""
    try:
        raw = codec.decode("signal_raw", message.value)
    except codec.CodecError as error:
        await dead_letter(ticket, message, "undecodable", error)
        return

    workspace = await workspace_of(raw["workspace_id"])
    if workspace is None:
        unknown = LookupError(f"workspace {raw['workspace_id']} is not configured")
        await dead_letter(
            ticket, message, "unknown_workspace", unknown, raw["workspace_id"]
        )
        return

    table_key = message.key or raw["dedupe_key"].encode()
    entry = dedupe_table.get(table_key)
    if entry is not None and is_expired(table_key, entry, now_us(), retention):
        entry = None
    seen = classify(entry, raw, message.partition, message.offset)
    metrics.PROCESSED.labels(seen.value).inc()

    if seen in (Seen.DUPLICATE, Seen.CONFLICT):
        await answer_repeat(ticket, raw, entry or {}, seen)
        return

    try:
        outcome = process_signal(raw, workspace, companies.get, datetime.now(UTC))
    except (IdentityError, ValueError, KeyError, TypeError) as error:
        await dead_letter(ticket, message, "unprocessable", error, raw["workspace_id"])
        return

    entry = table_entry(
        raw,
        message.partition,
        message.offset,
        outcome.record["lead_id"],
        outcome.record["qualification"],
    )
    remember(ticket, table_key, entry, message.partition)
    await emit(ticket, outcome)


def remember(
    ticket: Ticket | None, table_key: bytes, entry: dict[str, Any], partition: int
) -> None:
    """Keep the first capture in the table, and in its changelog.

    Under at-least-once the changelog record is one more output of the message
    (Faust's changelog send cost as much as the other outputs together), written
    as Faust writes it, on the partition of the raw message: Faust's JSON codec
    is orjson when it is installed, so these are the bytes it writes and reads,
    without the codec lookup (2.6 against 0.4 us an entry).
    """
    if ticket is None:
        dedupe_table[table_key] = entry
        return

    dedupe_table.data[table_key] = entry
    value = orjson.dumps(entry)
    outputs.send(ticket, changelog_name, table_key, value, partition)


async def handle_plain(message: Any, ticket: Ticket | None) -> None:
    """A plain JSON body: validate, key as the gateway would, write back as Avro."""
    workspace_id = plain.workspace_header(message.headers)
    if workspace_id is None:
        refused = codec.CodecError(
            "neither signal_raw Avro nor JSON with an unstuck-workspace-id header"
        )
        await dead_letter(ticket, message, "undecodable", refused)
        return

    workspace = await workspace_of(workspace_id)
    if workspace is None:
        unknown = LookupError(f"workspace {workspace_id} is not configured")
        await dead_letter(ticket, message, "unknown_workspace", unknown, workspace_id)
        return

    received_at = datetime.fromtimestamp(message.timestamp, UTC)
    try:
        body = plain.parse_body(message.value)
        raw = plain.raw_signal(body, workspace, received_at, max_future)
    except plain.PlainSignalError as error:
        await dead_letter(ticket, message, error.reason, error, workspace_id)
        return

    metrics.PLAIN_REKEYED.inc()
    await send(
        ticket,
        raw_signals,
        raw["dedupe_key"].encode(),
        codec.encode("signal_raw", raw),
    )


async def workspace_of(workspace_id: str) -> dict[str, Any] | None:
    """The workspace of a signal; an unknown id is looked for once more after
    catching up with the config topic, since the gateway may have accepted the
    signal for a workspace created a moment ago."""
    workspace = workspaces.get(workspace_id)
    if workspace is None:
        await asyncio.to_thread(workspaces.catch_up, 10.0)
        workspace = workspaces.get(workspace_id)
    return workspace


def now_us() -> int:
    """The wall clock in microseconds, the unit of the table's timestamps."""
    return time.time_ns() // 1000


async def emit(ticket: Ticket | None, outcome: Outcome) -> None:
    """Records first: a reply must never announce what is not on its way to storage.

    The record's facts also go to ``audience.leads``, keyed by lead, as one more
    output of the raw message. A separate agent used to read them back from
    ``records`` and forward them: a second Faust consumption, an Avro decode and
    an aiokafka send per signal, which trailed the processor by as long again
    as the signals themselves took (``benchmarks.processor``, "all done").
    """
    record = outcome.record
    capture_key = record["capture_id"].encode()
    await send(ticket, records, capture_key, encode_record(record))
    await send(
        ticket,
        audience_leads,
        record["lead_id"].encode(),
        orjson.dumps(observation(record)),
    )
    if outcome.webhook is not None:
        await send(
            ticket,
            webhooks,
            record["workspace_id"].encode(),
            codec.encode("webhook", outcome.webhook),
        )
    await send(ticket, replies, capture_key, encode_reply(outcome.reply))
    log.debug(
        "signal.captured",
        capture_id=record["capture_id"],
        workspace=record["workspace_id"],
        signal_type=record["signal_type"],
    )


async def answer_repeat(
    ticket: Ticket | None, raw: dict[str, Any], entry: dict[str, Any], seen: Seen
) -> None:
    """A duplicate is answered with the first capture; a conflict says so."""
    status = "duplicate" if seen is Seen.DUPLICATE else "conflict"
    detail = None
    if seen is Seen.CONFLICT:
        detail = "idempotency_key was used before with a different body"
    reply = reply_for(
        entry.get("capture_id", raw["capture_id"]),
        raw["workspace_id"],
        entry.get("matched_record_id"),
        entry.get("qualification"),
        status=status,
        detail=detail,
    )
    # Keyed by the capture the caller was told about, which its gateway awaits.
    await send(
        ticket,
        replies,
        raw["capture_id"].encode(),
        codec.encode("reply", {**reply, "capture_id": raw["capture_id"]}),
    )
    log.debug(
        "signal.repeat",
        capture_id=raw["capture_id"],
        workspace=raw["workspace_id"],
        seen=seen.value,
    )


async def dead_letter(
    ticket: Ticket | None,
    message: Any,
    reason: str,
    error: BaseException,
    workspace_id: str | None = None,
) -> None:
    """Keep the original bytes and say why; the partition moves on."""
    metrics.DEAD_LETTERS.labels(reason).inc()
    letter = {
        "stage": "processor",
        "reason": f"{reason}: {error}",
        "error_type": type(error).__name__,
        "topic": message.topic,
        "partition": message.partition,
        "offset": message.offset,
        "key": message.key,
        "value": message.value,
        "workspace_id": workspace_id,
        "failed_at": datetime.now(UTC),
    }
    await send(ticket, dead_letters, message.key, codec.encode("dead_letter", letter))
    log.warning(
        "signal.dead_lettered",
        reason=reason,
        topic=message.topic,
        partition=message.partition,
        offset=message.offset,
        workspace=workspace_id,
    )


def owned_partitions() -> set[int]:
    """The raw-topic partitions this worker consumes now (standbys excluded)."""
    return {
        tp.partition
        for tp in app.assignor.assigned_actives()
        if tp.topic == raw_topic_name
    }


@app.timer(settings.dedupe_sweep_interval_seconds)
async def sweep_dedupe_table() -> None:
    """Delete keys past their window from the table and tombstone them.

    The scan and the deletions run without an await in between, so the agent
    never sees a half-swept table. The changelog partition of a key is the raw
    partition its entry was written from, which the entry keeps.
    """
    store = dedupe_table.data
    expired = expired_keys(list(store.items()), owned_partitions(), now_us(), retention)
    for table_key, partition in expired:
        store.pop(table_key, None)
        dedupe_table.send_changelog(partition, table_key, None, value_serializer="raw")

    metrics.DEDUPE_EXPIRED.inc(len(expired))
    metrics.DEDUPE_KEYS.set(len(store))
    if expired:
        log.info("dedupe.swept", expired=len(expired), kept=len(store))


@app.timer(settings.lag_interval_seconds)
async def measure_lag() -> None:
    """Publish the lag of every partition this worker owns."""
    owned = owned_partitions()
    positions.forget(owned)
    now = time.time()
    lags: dict[int, lag.PartitionLag] = {}
    for partition in owned:
        tp = faust.types.TP(raw_topic_name, partition)
        try:
            highwater = app.consumer.highwater(tp)
        except Exception:  # noqa: S112 -- a partition revoked mid-measure
            continue
        if highwater is None:
            continue
        next_offset = positions.next_offset(partition)
        if next_offset is None:
            next_offset = await app.consumer.position(tp) or highwater
        lags[partition] = lag.partition_lag(
            highwater, next_offset, positions.last_timestamp(partition), now
        )
    lag.publish(raw_topic_name, lags)
    metrics.DEDUPE_KEYS.set(len(dedupe_table.data))


# Registers the audience agents, table and timer on ``app`` (issue 8).
import stream_processors.audiences.agent  # noqa: E402, F401
