"""The gateway's contract beyond the field cases: batch, tenancy, keys, types."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
from typing import Any

import aiohttp
import psycopg

from tests.integration.conftest import Workspace
from tests.integration.gateway.cases import fresh_workspace
from tests.integration.pipeline.processes import Pipeline
from tests.integration.receiver import WebhookReceiver

SIGNAL: dict[str, Any] = {
    "signal_type": "website_visit",
    "source": "web_tracker",
    "occurred_at": "2024-05-01T12:00:00Z",
    "identity": {"email": "ana.silva@example.com"},
    "context": {"page_url": "https://example.com/pricing"},
}


async def call(
    pipeline: Pipeline,
    method: str,
    path: str,
    api_key: str,
    body: Any = None,
) -> tuple[int, Any]:
    headers = {"Authorization": f"Bearer {api_key}"}
    async with (
        aiohttp.ClientSession(headers=headers) as session,
        session.request(method, pipeline.url + path, json=body) as response,
    ):
        return response.status, await response.json()


def wait_for(predicate: Any, timeout: float = 60.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.3)
    raise TimeoutError("condition not met in time")


def stored_ids(database_url: str, workspace_id: str) -> set[str]:
    with psycopg.connect(database_url) as connection:
        rows = connection.execute(
            "SELECT capture_id FROM signal_captures WHERE workspace_id = %s",
            (workspace_id,),
        ).fetchall()
    return {row[0] for row in rows}


async def test_batch_with_one_bad_item_stores_the_others(workspace: Workspace) -> None:
    """A bad item gets its own error; the good items are all stored in PostgreSQL."""
    good = [
        {**SIGNAL, "identity": {"email": f"person{n}@example.com"}} for n in range(3)
    ]
    bad = {**SIGNAL, "occurred_at": "yesterday"}

    status, answer = await call(
        workspace.pipeline,
        "POST",
        "/signals/batch",
        workspace.api_key,
        [good[0], bad, good[1], good[2]],
    )

    assert status == 200, answer
    assert [r["status"] for r in answer["results"]] == [202, 400, 202, 202]
    assert answer["results"][1]["error"]["fields"][0]["field"] == "occurred_at"
    wanted = {r["signal_capture_id"] for r in answer["results"] if r["status"] == 202}
    pipeline = workspace.pipeline
    stored = wait_for(
        lambda: (s := stored_ids(pipeline.database_url, workspace.id)) >= wanted and s
    )
    assert stored == wanted


async def test_another_workspace_cannot_read_a_capture(
    workspace: Workspace, receiver: WebhookReceiver
) -> None:
    """GET of another workspace's capture is a 404, never its data."""
    other = fresh_workspace(workspace.pipeline, receiver)
    status, answer = await call(
        workspace.pipeline, "POST", "/signals", workspace.api_key, SIGNAL
    )
    capture_id = answer["signal_capture_id"]
    pipeline = workspace.pipeline
    wait_for(lambda: capture_id in stored_ids(pipeline.database_url, workspace.id))

    own_status, _ = await call(
        pipeline, "GET", f"/signals/{capture_id}", workspace.api_key
    )
    other_status, other_answer = await call(
        pipeline, "GET", f"/signals/{capture_id}", other.api_key
    )

    assert status in (200, 202)
    assert own_status == 200
    assert other_status == 404
    assert other_answer["error"]["code"] == "not_found"


async def test_unknown_key_is_refused_before_the_body(workspace: Workspace) -> None:
    """A wrong key gets 401 even with a body that is not JSON."""
    async with (
        aiohttp.ClientSession() as session,
        session.post(
            workspace.pipeline.url + "/signals",
            data=b"{not json",
            headers={
                "Authorization": "Bearer usk_wrong",
                "Content-Type": "application/json",
            },
        ) as response,
    ):
        status, answer = response.status, await response.json()

    assert status == 401
    assert answer["error"]["code"] == "unauthorized"


def unstuck(pipeline: Pipeline, api_key: str, *args: str) -> str:
    """Run an ``unstuck`` verb against the pipeline; its stdout."""
    done = subprocess.run(
        [sys.executable, "-m", "deploy", *args],
        env=pipeline.operator_env(api_key=api_key),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


async def status_with(pipeline: Pipeline, api_key: str) -> int:
    status, _ = await call(pipeline, "GET", "/signal-types", api_key)
    return status


async def test_key_rotation_keeps_both_keys_then_revokes_the_old(
    workspace: Workspace,
) -> None:
    """After rotate-key both keys work; after revoke-other-keys only the new one."""
    pipeline, old_key = workspace.pipeline, workspace.api_key
    new_key = json.loads(
        unstuck(pipeline, old_key, "workspace", "rotate-key", "--json")
    )["api_key"]
    await _wait_status(pipeline, new_key, 200)
    both = (await status_with(pipeline, old_key), await status_with(pipeline, new_key))

    unstuck(pipeline, new_key, "workspace", "revoke-other-keys", "--json")
    await _wait_status(pipeline, old_key, 401)
    after = (await status_with(pipeline, old_key), await status_with(pipeline, new_key))

    assert both == (200, 200)
    assert after == (401, 200)


async def _wait_status(pipeline: Pipeline, api_key: str, wanted: int) -> None:
    deadline = time.monotonic() + 30
    while await status_with(pipeline, api_key) != wanted:
        assert time.monotonic() < deadline, f"never {wanted}"
        await asyncio.sleep(0.2)


async def test_custom_type_declared_over_http_is_accepted(workspace: Workspace) -> None:
    """POST /signal-types declares a type that signals can use within seconds."""
    pipeline, key = workspace.pipeline, workspace.api_key
    declare = {
        "display_name": "Trial Extended",
        "description": "Sales extended a trial.",
        "sub_rules": [{"bucket": "long", "when": {"context.days": {"gt": 14}}}],
        "autoqualify": False,
    }

    status, declared = await call(pipeline, "POST", "/signal-types", key, declare)
    listed = await _wait_listed(pipeline, key, "trial_extended")
    signal_status, _ = await call(
        pipeline, "POST", "/signals", key, {**SIGNAL, "signal_type": "trial_extended"}
    )

    assert status == 201, declared
    assert declared["key"] == "trial_extended"
    assert listed["description"] == "Sales extended a trial."
    assert signal_status in (200, 202)


async def _wait_listed(pipeline: Pipeline, key: str, type_key: str) -> dict[str, Any]:
    deadline = time.monotonic() + 30
    while True:
        _, answer = await call(pipeline, "GET", "/signal-types", key)
        found = {t["key"]: t for t in answer["signal_types"]}
        if type_key in found or time.monotonic() > deadline:
            return found[type_key]
        await asyncio.sleep(0.2)


async def test_disabled_builtin_type_is_refused_with_403(workspace: Workspace) -> None:
    """PATCH enabled=false makes that type a 403 naming signal_type."""
    pipeline, key = workspace.pipeline, workspace.api_key

    status, switched = await call(
        pipeline, "PATCH", "/signal-types/website_visit", key, {"enabled": False}
    )
    deadline = time.monotonic() + 30
    while True:
        refused, answer = await call(pipeline, "POST", "/signals", key, SIGNAL)
        if refused == 403 or time.monotonic() > deadline:
            break
        await asyncio.sleep(0.2)

    assert status == 200
    assert switched["enabled"] is False
    assert refused == 403
    assert answer["error"]["fields"][0]["field"] == "signal_type"


async def test_admin_routes_are_off_without_a_token(workspace: Workspace) -> None:
    """With no UNSTUCK_ADMIN_TOKEN configured the operator routes do not exist."""
    path = f"/admin/workspaces/{workspace.id}/signal-types"

    status, answer = await call(workspace.pipeline, "GET", path, workspace.api_key)

    assert status == 404
    assert answer["error"]["code"] == "not_found"


async def test_openapi_document_lists_every_route(pipeline: Pipeline) -> None:
    """GET /openapi.json is OpenAPI 3.1 and names each route the gateway serves."""
    async with (
        aiohttp.ClientSession() as session,
        session.get(pipeline.url + "/openapi.json") as response,
    ):
        document = await response.json()

    assert document["openapi"] == "3.1.0"
    assert {
        "/signals",
        "/signals/batch",
        "/signals/{capture_id}",
        "/signal-types",
        "/healthz",
        "/readyz",
        "/openapi.json",
    } <= document["paths"].keys()


async def test_a_body_that_is_not_json_is_refused_with_415(
    workspace: Workspace,
) -> None:
    """A form or text body gets 415 on both routes, and nothing is stored."""
    statuses = []
    for path in ("/signals", "/signals/batch"):
        async with (
            aiohttp.ClientSession() as session,
            session.post(
                workspace.pipeline.url + path,
                data=json.dumps(SIGNAL).encode(),
                headers={
                    "Authorization": f"Bearer {workspace.api_key}",
                    "Content-Type": "text/plain",
                },
            ) as response,
        ):
            answer = await response.json()
            statuses.append((response.status, answer["error"]["code"]))

    assert statuses == [(415, "unsupported_media_type")] * 2
    assert stored_ids(workspace.pipeline.database_url, workspace.id) == set()


async def test_an_announced_oversize_body_is_refused_before_it_is_sent(
    workspace: Workspace,
) -> None:
    """A Content-Length past the cap gets 413 while the body has not been sent.

    Only the headers and a few bytes go out: a gateway that read the body first
    would wait for the rest instead of answering.
    """
    host, port = workspace.pipeline.url.removeprefix("http://").split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    writer.write(
        (
            "POST /signals HTTP/1.1\r\n"
            f"Host: {host}\r\n"
            f"Authorization: Bearer {workspace.api_key}\r\n"
            "Content-Type: application/json\r\n"
            f"Content-Length: {64 * 1024 * 1024}\r\n"
            "\r\n"
            '{"signal_type": '
        ).encode()
    )
    await writer.drain()

    status_line = await asyncio.wait_for(reader.readline(), 30)
    writer.close()

    assert status_line.split()[1] == b"413"
