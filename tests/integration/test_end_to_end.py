"""The whole path on real processes, real Kafka and real PostgreSQL."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import aiohttp
import psycopg
from standardwebhooks import Webhook

from tests.integration.conftest import Workspace
from tests.integration.receiver import WebhookReceiver
from tests.integration.waiting import wait_for

EXAMPLE_BODY: dict[str, Any] = {
    "signal_type": "custom_event",
    "source": "product",
    "event_name": "teammate_invited",
    "occurred_at": "2026-11-20T09:30:00Z",
    "identity": {
        "email": "maria.lopez@stripe.com",
        "company_domain": "stripe.com",
        "first_name": "María",
        "last_name": "López",
        "title": "VP of Engineering",
    },
    "context": {"team_size": 14, "plan": "trial"},
}


async def post(workspace: Workspace, body: dict[str, Any]) -> tuple[int, Any]:
    async with (
        aiohttp.ClientSession(headers=workspace.headers) as session,
        session.post(f"{workspace.pipeline.url}/signals", json=body) as response,
    ):
        return response.status, await response.json()


def captures_of(database_url: str, workspace_id: str) -> list[tuple[Any, ...]]:
    with psycopg.connect(database_url) as connection:
        return connection.execute(
            "SELECT capture_id, lead_id, icp_code, persona_code FROM signal_captures"
            " WHERE workspace_id = %s",
            (workspace_id,),
        ).fetchall()


def deliveries_for(receiver: WebhookReceiver, capture_id: str) -> list[Any]:
    return [
        d
        for d in receiver.accepted()
        if json.loads(d.body)["data"]["signal_capture_id"] == capture_id
    ]


async def test_signal_is_qualified_stored_once_and_announced(
    workspace: Workspace, receiver: WebhookReceiver
) -> None:
    """The example body gets a qualification, one row, and one signed webhook."""
    status, first = await post(workspace, EXAMPLE_BODY)
    again_status, again = await post(workspace, EXAMPLE_BODY)

    assert status == 200, first
    assert first["qualification"] is not None
    assert first["matched_record_id"]
    assert again_status == 200, again
    assert again["signal_capture_id"] == first["signal_capture_id"]
    assert again["duplicate"] is True

    rows = wait_for(lambda: captures_of(workspace.pipeline.database_url, workspace.id))
    capture_id = first["signal_capture_id"]
    delivered = wait_for(lambda: deliveries_for(receiver, capture_id))
    await asyncio.sleep(1.0)

    assert [row[0] for row in rows] == [capture_id]
    assert captures_of(workspace.pipeline.database_url, workspace.id) == rows
    assert len(deliveries_for(receiver, capture_id)) == 1
    Webhook(workspace.webhook_secret).verify(delivered[0].body, delivered[0].headers)


async def test_same_event_spelled_differently_shares_a_capture(
    workspace: Workspace,
) -> None:
    """Another offset and email spelling of one event is the same capture."""
    respelled = {
        **EXAMPLE_BODY,
        "occurred_at": "2026-11-20T11:30:00.000+02:00",
        "identity": {**EXAMPLE_BODY["identity"], "email": "Maria.Lopez@STRIPE.com"},
    }

    _, first = await post(workspace, EXAMPLE_BODY)
    _, second = await post(workspace, respelled)

    assert second["signal_capture_id"] == first["signal_capture_id"]


async def test_capture_can_be_read_back(workspace: Workspace) -> None:
    """GET /signals/{id} returns the stored capture with its qualification."""
    _, created = await post(workspace, EXAMPLE_BODY)
    capture_id = created["signal_capture_id"]
    url = f"{workspace.pipeline.url}/signals/{capture_id}"

    async def fetch() -> tuple[int, Any]:
        async with (
            aiohttp.ClientSession(headers=workspace.headers) as session,
            session.get(url) as response,
        ):
            return response.status, await response.json()

    deadline = time.monotonic() + 30
    status, document = await fetch()
    while status == 404 and time.monotonic() < deadline:
        await asyncio.sleep(0.3)
        status, document = await fetch()

    assert status == 200, document
    assert document["signal_capture_id"] == capture_id
    assert document["qualification"]["icp_score"] >= 0


async def test_bad_body_gets_400_naming_the_field(workspace: Workspace) -> None:
    """A body without identity is refused with the field named, never stored."""
    body = {key: value for key, value in EXAMPLE_BODY.items() if key != "identity"}

    status, answer = await post(workspace, body)

    assert status == 400
    assert "identity" in [f["field"] for f in answer["error"]["fields"]]


async def test_unknown_key_gets_401(workspace: Workspace) -> None:
    """A key that belongs to no workspace is refused before the body is read."""
    async with (
        aiohttp.ClientSession(headers={"Authorization": "Bearer nope"}) as session,
        session.post(f"{workspace.pipeline.url}/signals", data=b"{") as response,
    ):
        status = response.status

    assert status == 401
