"""The audience agent, registered on the processor's Faust app.

Records are keyed by capture id, but membership must be decided by one worker per
lead, so the processor's agent puts each record's facts on ``audience.leads`` keyed
by lead id, as one more output of the raw message (``stream_processors.app.emit``;
it used to be a repartition agent reading ``records`` back). The agent here
consumes that topic with a changelog-backed table of per-lead state (co-partitioned
with it) and emits entered/left events to ``audience.membership``, keyed by lead.
A timer puts a tick for each lead whose windowed signals age out, and for every
lead of a workspace whose audiences changed, on the same topic, so every decision
about a lead is taken in that lead's partition in order, and never twice.
"""

from __future__ import annotations

import asyncio
import os
from typing import Any

import faust
import orjson
import structlog
from aiokafka.partitioner import murmur2  # type: ignore[import-untyped]
from faust.types import Message

from schemas import codec
from schemas.topics import AUDIENCE_LEADS, AUDIENCE_MEMBERSHIP
from stream_processors.app import app, prefix, settings, webhooks
from stream_processors.app import audience_leads as by_lead
from stream_processors.audiences.directory import AudienceDirectory
from stream_processors.audiences.evaluate import micros
from stream_processors.audiences.membership import decide
from stream_processors.audiences.settings import AudienceSettings
from stream_processors.audiences.state import merge, tick
from stream_processors.audiences.webhook import entered_webhook
from stream_processors.exits import AGENT_CRASHED_EXIT

log = structlog.get_logger("processor.audiences")

audience_settings = AudienceSettings()
leads_topic_name = AUDIENCE_LEADS.name(prefix)

membership = app.topic(
    AUDIENCE_MEMBERSHIP.name(prefix),
    key_type=bytes,
    value_type=bytes,
    key_serializer="raw",
    value_serializer="raw",
)

# Keyed by lead id and partitioned like audience.leads, so the worker that owns a
# lead's partition owns its state and membership.
lead_table = app.Table(
    "audience_leads",
    default=None,
    key_type=bytes,
    partitions=AUDIENCE_LEADS.partitions,
)

audiences = AudienceDirectory(settings.kafka_bootstrap_servers, prefix)
# Audience versions the timer has already re-evaluated local leads for.
_versions_seen: dict[str, int] = {}
# The due time each lead was last ticked for, so a slow tick is not sent twice.
_ticked: dict[bytes, int] = {}


async def follow_audiences() -> None:
    """Materialize audience definitions before the first lead is evaluated."""
    audiences.start()
    await asyncio.to_thread(audiences.wait_ready, 120.0)
    log.info("audiences.ready", audiences=len(audiences))


async def evaluate_leads(stream: faust.StreamT[bytes]) -> None:
    """One lead message at a time, per partition, in offset order.

    What escapes a message ends the worker, as it does for the signal agent, so
    it is restarted and replays: Faust would leave a crashed agent in a live
    worker, and audiences would stop while signals still got their replies.
    """
    try:
        async for event in stream.events():
            await evaluate(event.message)
    except asyncio.CancelledError:
        raise
    except BaseException as error:
        log.critical("audiences.agent_crashed", error=repr(error))
        os._exit(AGENT_CRASHED_EXIT)


class UnreadableLeadError(ValueError):
    """A lead message the agent cannot fold into a lead's state: our own bug."""


async def evaluate(message: Message) -> None:
    """An unreadable lead message would fail the same way on every replay, so it
    is logged and skipped; any other failure ends the worker."""
    try:
        key, body = read_lead(message)
        await handle_lead(key, body)
    except UnreadableLeadError as error:
        log.warning(
            "audiences.bad_lead_message",
            topic=message.topic,
            partition=message.partition,
            offset=message.offset,
            error=str(error),
        )


def read_lead(message: Message) -> tuple[bytes, dict[str, Any]]:
    """The lead key and the JSON object of a message on ``audience.leads``."""
    try:
        body = orjson.loads(message.value or b"")
    except ValueError as error:
        raise UnreadableLeadError(f"not JSON: {error}") from None
    if message.key is None or not isinstance(body, dict) or "cause" not in body:
        raise UnreadableLeadError("needs a key and a JSON object with a cause")
    return message.key, body


async def handle_lead(key: bytes, body: dict[str, Any]) -> None:
    """Fold the message into the lead's state, re-decide, emit what changed."""
    if not audiences.ready:
        await asyncio.to_thread(audiences.wait_ready, 120.0)

    now = audience_settings.clock()
    try:
        state = merge(lead_table.get(key), body, now, audience_settings.max_signals)
    except (KeyError, TypeError) as error:
        raise UnreadableLeadError(f"cannot be folded: {error!r}") from None

    defined = audiences.of_workspace(state["workspace_id"])
    updated, events = decide(state, defined, now, body["cause"])
    lead_table[key] = updated

    for change in events:
        await membership.send(
            key=key, value=codec.encode("audience_membership", change)
        )
        audience = audiences.get(f"{change['workspace_id']}/{change['audience_id']}")
        if change["member"] and audience is not None and audience["notify_webhook"]:
            await webhooks.send(
                key=change["workspace_id"].encode(),
                value=codec.encode("webhook", entered_webhook(change)),
            )
        log.info(
            "audience.membership_changed",
            workspace=change["workspace_id"],
            audience=change["audience_id"],
            change=change["change"],
            cause=change["cause"],
        )


def _owned(key: bytes, owned: set[int]) -> bool:
    """Whether this worker consumes the lead's partition (standbys excluded)."""
    partition = (murmur2(key) & 0x7FFFFFFF) % AUDIENCE_LEADS.partitions
    return partition in owned


async def tick_leads() -> None:
    """Tick the leads whose windows moved on and those of changed audiences."""
    if not audiences.ready:
        return
    now = micros(audience_settings.clock())
    owned = {
        tp.partition
        for tp in app.assignor.assigned_actives()
        if tp.topic == leads_topic_name
    }
    changed = _changed_workspaces()

    due: list[tuple[bytes, str, str]] = []
    for key, state in list(lead_table.data.items()):
        if not _owned(key, owned) or not isinstance(state, dict):
            continue
        workspace_id = state["workspace_id"]
        if workspace_id in changed:
            due.append((key, workspace_id, changed[workspace_id]))
            continue
        due_at = state.get("due_at")
        if due_at is not None and due_at <= now and _ticked.get(key) != due_at:
            _ticked[key] = due_at
            due.append((key, workspace_id, f"tick:{due_at}"))

    for key, workspace_id, cause in due:
        message = tick(workspace_id, key.decode(), cause)
        await by_lead.send(key=key, value=orjson.dumps(message))
    if due:
        log.info("audiences.ticked", leads=len(due), workspaces=len(changed))


def _changed_workspaces() -> dict[str, str]:
    """Workspaces with an audience created or changed since the last look."""
    changed: dict[str, str] = {}
    for audience in audiences.values():
        key = f"{audience['workspace_id']}/{audience['audience_id']}"
        if _versions_seen.get(key) != audience["version"]:
            _versions_seen[key] = audience["version"]
            cause = f"audience:{audience['audience_id']}:v{audience['version']}"
            changed[audience["workspace_id"]] = cause
    return changed


app.task(follow_audiences)
app.agent(by_lead, name="audiences.evaluate")(evaluate_leads)
app.timer(audience_settings.tick_interval_seconds)(tick_leads)
