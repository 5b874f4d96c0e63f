"""The Faust worker: dedupe by key, then normalize, qualify and emit.

Run with ``unstuck processor`` (or ``python -m stream_processors``); workers that
share ``UNSTUCK_PROCESSOR_ID`` share the raw topic's partitions.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

import faust
import structlog

from schemas import codec
from schemas.compacted import CompactedView
from schemas.identity import IdentityError
from schemas.topics import (
    COMPANIES,
    RECORDS,
    SIGNALS_DLQ,
    SIGNALS_RAW,
    SIGNALS_REPLIES,
    WEBHOOKS,
)
from schemas.workspace import WorkspaceDirectory
from stream_processors import metrics
from stream_processors.dedupe import Seen, classify, table_entry
from stream_processors.settings import ProcessorSettings
from stream_processors.signal import Outcome, process_signal, reply_for

log = structlog.get_logger("processor")

settings = ProcessorSettings()
prefix = settings.topic_prefix

app = faust.App(
    f"{prefix}{settings.processor_id}",
    broker=f"kafka://{settings.kafka_bootstrap_servers}",
    store=settings.store_url,
    topic_partitions=SIGNALS_RAW.partitions,
    topic_replication_factor=1,
    broker_commit_interval=settings.commit_interval_seconds,
    consumer_auto_offset_reset="earliest",
    processing_guarantee="at_least_once",
    web_enabled=False,
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


raw_signals = _raw_topic(SIGNALS_RAW.name(prefix))
records = _raw_topic(RECORDS.name(prefix))
webhooks = _raw_topic(WEBHOOKS.name(prefix))
replies = _raw_topic(SIGNALS_REPLIES.name(prefix))
dead_letters = _raw_topic(SIGNALS_DLQ.name(prefix))

# Keyed by the dedupe key, so it is partitioned exactly like the raw topic and each
# worker holds the keys of the partitions it consumes.
dedupe_table = app.Table(
    "dedupe",
    default=None,
    key_type=bytes,
    partitions=SIGNALS_RAW.partitions,
)

workspaces = WorkspaceDirectory(settings.kafka_bootstrap_servers, prefix)
companies = CompactedView(
    settings.kafka_bootstrap_servers, COMPANIES.name(prefix), "company"
)


@app.task
async def follow_configuration() -> None:
    """Materialize workspaces and companies before the first signal is handled."""
    workspaces.start()
    companies.start()
    await asyncio.to_thread(workspaces.wait_ready, 120.0)
    await asyncio.to_thread(companies.wait_ready, 120.0)
    log.info("processor.configuration_ready", workspaces=len(workspaces))


@app.agent(raw_signals)
async def handle_signals(stream: faust.StreamT[bytes]) -> None:
    """One raw message at a time, per partition, in offset order."""
    async for event in stream.events():
        message = event.message
        await handle(
            message.key, message.value, message.topic, message.partition, message.offset
        )


async def handle(
    key: bytes | None, value: bytes | None, topic: str, partition: int, offset: int
) -> None:
    """Classify against the dedupe table, then emit or answer the duplicate."""
    try:
        raw = codec.decode("signal_raw", value)
    except codec.CodecError as error:
        await dead_letter(key, value, topic, partition, offset, "undecodable", error)
        return

    workspace = await workspace_of(raw["workspace_id"])
    if workspace is None:
        await dead_letter(
            key,
            value,
            topic,
            partition,
            offset,
            "unknown_workspace",
            LookupError(f"workspace {raw['workspace_id']} is not configured"),
            raw["workspace_id"],
        )
        return

    table_key = key or raw["dedupe_key"].encode()
    entry = dedupe_table.get(table_key)
    seen = classify(entry, raw, partition, offset)
    metrics.PROCESSED.labels(seen.value).inc()

    if seen in (Seen.DUPLICATE, Seen.CONFLICT):
        await answer_repeat(raw, entry or {}, seen)
        return

    try:
        outcome = process_signal(raw, workspace, companies.get, datetime.now(UTC))
    except (IdentityError, ValueError, KeyError, TypeError) as error:
        await dead_letter(
            key,
            value,
            topic,
            partition,
            offset,
            "unprocessable",
            error,
            raw["workspace_id"],
        )
        return

    dedupe_table[table_key] = table_entry(
        raw,
        partition,
        offset,
        outcome.record["lead_id"],
        outcome.record["qualification"],
    )
    await emit(outcome)


async def workspace_of(workspace_id: str) -> dict[str, Any] | None:
    if not workspaces.ready:
        await asyncio.to_thread(workspaces.wait_ready, 120.0)
    return workspaces.get(workspace_id)


async def emit(outcome: Outcome) -> None:
    """Records first: a reply must never announce what is not on its way to storage."""
    record = outcome.record
    capture_key = record["capture_id"].encode()
    await records.send(key=capture_key, value=codec.encode("record", record))
    if outcome.webhook is not None:
        await webhooks.send(
            key=record["workspace_id"].encode(),
            value=codec.encode("webhook", outcome.webhook),
        )
    await replies.send(key=capture_key, value=codec.encode("reply", outcome.reply))
    log.info(
        "signal.captured",
        capture_id=record["capture_id"],
        workspace=record["workspace_id"],
        signal_type=record["signal_type"],
    )


async def answer_repeat(raw: dict[str, Any], entry: dict[str, Any], seen: Seen) -> None:
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
    await replies.send(
        key=raw["capture_id"].encode(),
        value=codec.encode(
            "reply",
            {
                **reply,
                "capture_id": raw["capture_id"],
            },
        ),
    )
    log.info(
        "signal.repeat",
        capture_id=raw["capture_id"],
        workspace=raw["workspace_id"],
        seen=seen.value,
    )


async def dead_letter(
    key: bytes | None,
    value: bytes | None,
    topic: str,
    partition: int,
    offset: int,
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
        "topic": topic,
        "partition": partition,
        "offset": offset,
        "key": key,
        "value": value,
        "workspace_id": workspace_id,
        "failed_at": datetime.now(UTC),
    }
    await dead_letters.send(key=key, value=codec.encode("dead_letter", letter))
    log.warning(
        "signal.dead_lettered",
        reason=reason,
        topic=topic,
        partition=partition,
        offset=offset,
        workspace=workspace_id,
    )
