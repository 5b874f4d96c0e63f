"""``unstuck audience``: create, list, show and delete a workspace's audiences.

Definitions go to the compacted ``audience.definitions`` topic (the stream reads
them from there); counts and samples come from PostgreSQL, where the audience sink
stores membership.
"""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from typing import Annotated, Any

import psycopg
import typer
from confluent_kafka import Producer

from deploy import admin
from deploy.environment import load_settings_env, require
from schemas import codec
from schemas.topics import AUDIENCE_DEFINITIONS, AUDIENCE_LEADS
from stream_processors.audiences.backfill import lead_producer, seeds
from stream_processors.audiences.definitions import definition_key, new_definition
from stream_processors.audiences.directory import AudienceDirectory
from stream_processors.audiences.language import ConditionError

audience_app = typer.Typer(help="Audiences: saved, self-updating lead filters.")

JsonOption = Annotated[bool, typer.Option("--json", help="Machine-readable output.")]
SAMPLE_SIZE = 10
FLUSH_TIMEOUT_S = 60


def _emit(document: Any, as_json: bool, lines: list[str]) -> None:
    if as_json:
        typer.echo(json.dumps(document, indent=2, default=str))
    else:
        for line in lines:
            typer.echo(line)


def _context() -> tuple[str, str, str]:
    """Bootstrap servers, topic prefix and the workspace of UNSTUCK_API_KEY."""
    load_settings_env()
    workspace = admin.current_workspace(require("UNSTUCK_API_KEY"))
    bootstrap = require("KAFKA_BOOTSTRAP_SERVERS")
    return (
        bootstrap,
        os.environ.get("UNSTUCK_TOPIC_PREFIX", ""),
        workspace["workspace_id"],
    )


def _directory(bootstrap: str, prefix: str) -> AudienceDirectory:
    directory = AudienceDirectory(bootstrap, prefix)
    directory.start()
    try:
        directory.wait_ready(30)
    except Exception:
        directory.stop()
        raise
    return directory


def _find(bootstrap: str, prefix: str, workspace_id: str, name: str) -> dict[str, Any]:
    directory = _directory(bootstrap, prefix)
    try:
        found = directory.by_name(workspace_id, name)
    finally:
        directory.stop()
    if found is None:
        raise SystemExit(f"no audience named {name!r} in this workspace")
    return found


def _publish(bootstrap: str, topic: str, key: str, value: bytes | None) -> None:
    producer = Producer(
        {"bootstrap.servers": bootstrap, "enable.idempotence": True, "acks": "all"}
    )
    producer.produce(topic, key=key.encode(), value=value)
    if producer.flush(FLUSH_TIMEOUT_S):
        raise SystemExit("Kafka did not acknowledge the audience definition")


def backfill(bootstrap: str, prefix: str, definition: dict[str, Any]) -> int:
    """Seed the agent with every stored lead of the workspace; returns how many."""
    cause = f"seed:{definition['audience_id']}:v{definition['version']}"
    producer = lead_producer(bootstrap)
    topic = AUDIENCE_LEADS.name(prefix)
    sent = 0
    with psycopg.connect(require("DATABASE_URL")) as conn:
        for seed in seeds(conn, definition["workspace_id"], datetime.now(UTC), cause):
            producer.produce(
                topic, key=seed["lead_id"].encode(), value=json.dumps(seed).encode()
            )
            producer.poll(0)
            sent += 1
    if producer.flush(FLUSH_TIMEOUT_S):
        raise SystemExit("Kafka did not acknowledge every backfill seed")
    return sent


@audience_app.command("create")
def create(
    name: str,
    condition: str,
    notify_webhook: Annotated[
        bool, typer.Option("--notify-webhook", help="Announce entries on the webhook.")
    ] = False,
    as_json: JsonOption = False,
) -> None:
    """Define (or redefine) an audience, then evaluate it over stored records."""
    bootstrap, prefix, workspace_id = _context()
    directory = _directory(bootstrap, prefix)
    try:
        previous = directory.by_name(workspace_id, name)
    finally:
        directory.stop()

    try:
        definition = new_definition(
            workspace_id, name, condition, notify_webhook, previous
        )
    except ConditionError as error:
        _emit(
            {
                "error": "invalid_condition",
                "message": str(error),
                "line": error.line,
                "column": error.column,
                "expected": error.expected,
            },
            as_json,
            [f"invalid condition: {error}"],
        )
        raise typer.Exit(2) from error

    key = definition_key(workspace_id, definition["audience_id"])
    topic = AUDIENCE_DEFINITIONS.name(prefix)
    _publish(bootstrap, topic, key, codec.encode("audience_definition", definition))
    seeded = backfill(bootstrap, prefix, definition)
    _emit(
        {**_public(definition), "backfilled_leads": seeded},
        as_json,
        [
            f"audience {name} ({definition['audience_id']}) version "
            f"{definition['version']}; {seeded} stored leads sent for evaluation"
        ],
    )


@audience_app.command("list")
def list_audiences(as_json: JsonOption = False) -> None:
    """The workspace's audiences and their conditions."""
    bootstrap, prefix, workspace_id = _context()
    directory = _directory(bootstrap, prefix)
    try:
        found = [_public(a) for a in directory.of_workspace(workspace_id)]
    finally:
        directory.stop()
    _emit(
        {"audiences": found},
        as_json,
        [f"{a['name']}  v{a['version']}  {a['condition']}" for a in found],
    )


@audience_app.command("show")
def show(name: str, as_json: JsonOption = False) -> None:
    """An audience with its member count and a sample of members."""
    bootstrap, prefix, workspace_id = _context()
    definition = _find(bootstrap, prefix, workspace_id, name)
    with psycopg.connect(require("DATABASE_URL")) as conn:
        count_row = conn.execute(
            "SELECT count(*) FROM audience_members WHERE audience_id = %s AND member",
            (definition["audience_id"],),
        ).fetchone()
        sample = conn.execute(
            "SELECT lead_id, reason, entered_at FROM audience_members"
            " WHERE audience_id = %s AND member ORDER BY lead_id LIMIT %s",
            (definition["audience_id"], SAMPLE_SIZE),
        ).fetchall()
    members = int(count_row[0]) if count_row else 0
    listed = [
        {"lead_id": lead, "reason": reason, "entered_at": entered}
        for lead, reason, entered in sample
    ]
    _emit(
        {**_public(definition), "member_count": members, "sample": listed},
        as_json,
        [f"{name}: {members} members", *(f"  {m['lead_id']}" for m in listed)],
    )


@audience_app.command("delete")
def delete(name: str, as_json: JsonOption = False) -> None:
    """Delete an audience: its membership rows go, its event history stays."""
    bootstrap, prefix, workspace_id = _context()
    definition = _find(bootstrap, prefix, workspace_id, name)
    key = definition_key(workspace_id, definition["audience_id"])
    _publish(bootstrap, AUDIENCE_DEFINITIONS.name(prefix), key, None)
    _emit(
        {"deleted": definition["audience_id"], "name": name},
        as_json,
        [f"audience {name} deleted"],
    )


def _public(definition: dict[str, Any]) -> dict[str, Any]:
    return {
        "audience_id": definition["audience_id"],
        "name": definition["name"],
        "condition": definition["condition"],
        "version": definition["version"],
        "notify_webhook": definition["notify_webhook"],
        "created_at": definition["created_at"],
        "updated_at": definition["updated_at"],
    }
