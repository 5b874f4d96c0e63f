"""A runner for the ``http`` and ``raw_http`` field cases, driven by the JSONL file.

Each case runs in fresh workspaces; placeholders are filled, each request is sent
as the exact bytes the case gives, and every ``expect`` key is checked. What must
not happen is checked too: the raw topic holds exactly one message per request the
gateway accepted (200, 202, or 409 for a reused key), none for a refused body.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import psycopg
from confluent_kafka import Consumer, TopicPartition

from schemas import codec
from schemas.topics import SIGNALS_RAW
from schemas.workspace import new_webhook_secret, new_workspace, publish_workspace
from tests.integration.conftest import Workspace
from tests.integration.pipeline.processes import Pipeline
from tests.integration.receiver import WebhookReceiver

CASES_FILE = Path(__file__).parents[2] / "fixtures" / "cases" / "field-cases.jsonl"
RUNNABLE = ("http", "raw_http")
PRODUCED_STATUSES = (200, 202, 409)


def load_cases() -> list[dict[str, Any]]:
    """Every case of the file the gateway alone can run."""
    lines = CASES_FILE.read_text(encoding="utf-8").splitlines()
    cases = [json.loads(line) for line in lines if line.strip()]
    return [c for c in cases if c["input"]["type"] in RUNNABLE]


def now_plus(spec: str) -> str:
    """``NOW+14d`` or ``NOW+30s`` as RFC 3339 UTC text."""
    amount, unit = int(spec[4:-1]), spec[-1]
    units = {"d": "days", "h": "hours", "m": "minutes", "s": "seconds"}
    instant = datetime.now(UTC) + timedelta(**{units[unit]: amount})
    return instant.strftime("%Y-%m-%dT%H:%M:%SZ")


def fill(text: str, keys: dict[str, str]) -> str:
    """Replace the key and time placeholders of a case."""
    text = text.replace("{{API_KEY}}", keys["A"])
    text = text.replace("{{API_KEY_WS_A}}", keys["A"])
    text = text.replace("{{API_KEY_WS_B}}", keys.get("B", ""))
    while "{{NOW+" in text:
        start = text.index("{{NOW+")
        end = text.index("}}", start)
        text = text[:start] + now_plus(text[start + 2 : end]) + text[end + 2 :]
    return text


def body_bytes(request: dict[str, Any], keys: dict[str, str]) -> bytes:
    """The exact bytes a request sends: raw text, an expression, or JSON."""
    if "body_python" in request:
        built = eval(request["body_python"])  # noqa: S307 -- our own fixture file
        return str(built).encode()
    if "body_raw" in request:
        return fill(request["body_raw"], keys).encode()
    return fill(json.dumps(request["body"], ensure_ascii=False), keys).encode()


def raw_payload(request: dict[str, Any], keys: dict[str, str]) -> bytes:
    """The bytes of a raw_http request, built by the case's own Python."""
    scope: dict[str, Any] = {}
    exec(fill(request["python"], keys), scope)  # noqa: S102 -- our own fixture file
    payload = scope["payload"]
    assert isinstance(payload, bytes)
    return payload


def status_matches(got: int, wanted: int) -> bool:
    """A case written for 202 accepts 200: the reply may come within the wait."""
    if wanted in (200, 202):
        return got in (200, 202)
    return got == wanted


@dataclass
class Outcome:
    """What one request of a case got back."""

    label: str
    expect: dict[str, Any]
    status: int
    body: Any
    sent: bytes = b""


@dataclass
class CaseRun:
    """The workspaces of one case run and what its requests got."""

    pipeline: Pipeline
    workspaces: dict[str, Workspace]
    outcomes: list[Outcome] = field(default_factory=list)

    @property
    def keys(self) -> dict[str, str]:
        return {name: ws.api_key for name, ws in self.workspaces.items()}


def fresh_workspace(pipeline: Pipeline, receiver: WebhookReceiver) -> Workspace:
    """A new workspace with a webhook to the receiver, known to the gateway."""
    config, api_key = new_workspace(f"case-{uuid.uuid4().hex[:8]}")
    config["webhook"] = {
        "url": receiver.url,
        "secrets": [new_webhook_secret()],
        "enabled": True,
    }
    publish_workspace(pipeline.kafka_bootstrap, pipeline.prefix, config)
    workspace = Workspace(pipeline, config, api_key)
    workspace.wait_known()
    return workspace


async def send_http(
    pipeline: Pipeline, request: dict[str, Any], data: bytes, keys: dict[str, str]
) -> tuple[int, Any]:
    """One request as the case writes it; the body is parsed when it is JSON."""
    headers = {name: fill(value, keys) for name, value in request["headers"].items()}
    timeout = aiohttp.ClientTimeout(total=60)
    async with (
        aiohttp.ClientSession(timeout=timeout) as session,
        session.request(
            request["method"],
            pipeline.url + request["path"],
            data=data,
            headers=headers,
        ) as response,
    ):
        text = await response.text()
    try:
        return response.status, json.loads(text)
    except ValueError:
        return response.status, text


async def send_raw(pipeline: Pipeline, payload: bytes) -> int:
    """Exact bytes on a socket; the status of the answer, read while still sending.

    The gateway may answer 413 and close before the body is all sent, so the status
    line is read concurrently and a reset while writing is expected.
    """
    reader, writer = await asyncio.open_connection("127.0.0.1", pipeline.port)
    status_line = asyncio.create_task(reader.readline())
    try:
        writer.write(payload)
        await asyncio.wait_for(writer.drain(), 60)
    except (ConnectionError, OSError):
        pass
    line = await asyncio.wait_for(status_line, 60)
    writer.close()
    with contextlib.suppress(ConnectionError, OSError):
        await writer.wait_closed()
    parts = line.split()
    return int(parts[1]) if len(parts) > 1 else 0


def ordered_requests(case: dict[str, Any]) -> list[dict[str, Any]]:
    """The requests in the order the case sends them."""
    requests: list[dict[str, Any]] = case["input"]["requests"]
    order = case["input"].get("send_order")
    if not order:
        return requests
    by_label = {r["label"]: r for r in requests}
    return [by_label[label] for label in order]


async def run_case(case: dict[str, Any], run: CaseRun) -> None:
    """Send every request of a case and record what came back."""
    for request in ordered_requests(case):
        if case["input"]["type"] == "raw_http":
            sent = raw_payload(request, run.keys)
            status = await send_raw(run.pipeline, sent)
            body: Any = None
        else:
            sent = body_bytes(request, run.keys)
            status, body = await send_http(run.pipeline, request, sent, run.keys)
        outcome = Outcome(request["label"], request["expect"], status, body, sent)
        run.outcomes.append(outcome)


def response_problems(outcome: Outcome) -> list[str]:
    """How one answer breaks its case's expectation; empty when it holds."""
    expect, status, body = outcome.expect, outcome.status, outcome.body
    problems: list[str] = []
    if status >= 500 or status == 0:
        problems.append(f"status {status}")
    if "status" in expect and not status_matches(status, expect["status"]):
        problems.append(f"status {status}, wanted {expect['status']}: {body}")
    if "status_in" in expect and not any(
        status_matches(status, wanted) for wanted in expect["status_in"]
    ):
        problems.append(f"status {status}, wanted one of {expect['status_in']}")

    error = body.get("error") if isinstance(body, dict) else None
    if "error_field" in expect:
        fields = [f["field"] for f in error["fields"]] if error else []
        if expect["error_field"] not in fields:
            problems.append(f"fields {fields}, wanted {expect['error_field']}")
    if "error_code" in expect and (error or {}).get("code") != expect["error_code"]:
        problems.append(f"error {error}, wanted code {expect['error_code']}")
    if expect.get("replayed") and not (
        isinstance(body, dict) and body.get("duplicate")
    ):
        problems.append(f"not marked as a replay: {body}")
    return [f"{outcome.label}: {p}" for p in problems]


def group_problems(
    outcomes: list[Outcome], group: str, ids: dict[str, str]
) -> list[str]:
    """Same letter, same id; different letters, different ids."""
    by_letter: dict[str, set[str]] = {}
    for outcome in outcomes:
        letter = outcome.expect.get(group)
        if letter is not None:
            by_letter.setdefault(letter, set()).add(ids.get(outcome.label, "?"))

    problems = [
        f"{group} {letter}: {sorted(found)}"
        for letter, found in by_letter.items()
        if len(found) != 1
    ]
    seen = [next(iter(found)) for found in by_letter.values()]
    if len(set(seen)) != len(seen):
        problems.append(f"{group}: two letters share an id: {by_letter}")
    return problems


def same_capture_problems(outcomes: list[Outcome]) -> list[str]:
    by_label = {o.label: o for o in outcomes}
    problems = []
    for outcome in outcomes:
        other = outcome.expect.get("same_capture_as")
        if other is None:
            continue
        mine = outcome.body.get("signal_capture_id")
        theirs = by_label[other].body.get("signal_capture_id")
        if mine != theirs:
            problems.append(f"{outcome.label}: capture {mine}, wanted {theirs}")
    return problems


def stored_captures(
    database_url: str, capture_ids: list[str], timeout: float = 60.0
) -> dict[str, dict[str, Any]]:
    """The stored rows of captures, waiting for the records sink to write them all."""
    deadline = time.monotonic() + timeout
    while True:
        with psycopg.connect(database_url) as connection:
            rows = connection.execute(
                "SELECT capture_id, identity_normalized, context::text"
                " FROM signal_captures WHERE capture_id = ANY(%s)",
                (capture_ids,),
            ).fetchall()
        found = {row[0]: {"identity": row[1], "context_text": row[2]} for row in rows}
        if len(found) == len(set(capture_ids)) or time.monotonic() > deadline:
            return found
        time.sleep(0.3)


def raw_offsets(bootstrap: str, prefix: str) -> dict[int, int]:
    """The end offset of every partition of the pipeline's raw topic."""
    topic = SIGNALS_RAW.name(prefix)
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": "unused"})
    try:
        partitions = consumer.list_topics(topic, timeout=10).topics[topic].partitions
        return {
            p: consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=10)[1]
            for p in partitions
        }
    finally:
        consumer.close()


def raw_messages(
    bootstrap: str, prefix: str, since: dict[int, int], workspace_ids: set[str]
) -> list[dict[str, Any]]:
    """The raw-topic messages of some workspaces written after ``since``."""
    topic = SIGNALS_RAW.name(prefix)
    until = raw_offsets(bootstrap, prefix)
    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": f"cases-{uuid.uuid4().hex}",
            "enable.auto.commit": False,
        }
    )
    pending = {p for p in until if until[p] > since.get(p, 0)}
    consumer.assign([TopicPartition(topic, p, since.get(p, 0)) for p in pending])
    found: list[dict[str, Any]] = []
    deadline = time.monotonic() + 30
    try:
        while pending and time.monotonic() < deadline:
            message = consumer.poll(0.5)
            if message is None or message.error() is not None:
                continue
            if message.offset() >= until[message.partition()] - 1:
                pending.discard(message.partition())
            if message.offset() >= until[message.partition()]:
                continue
            raw = codec.decode("signal_raw", message.value())
            if raw["workspace_id"] in workspace_ids:
                found.append(raw)
    finally:
        consumer.close()
    assert not pending, "the raw topic could not be read to its end"
    return found
