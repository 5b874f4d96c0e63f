"""The CLI verbs against a running pipeline, as an operator would type them."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import aiohttp
import psycopg
from standardwebhooks import Webhook

from tests.integration.pipeline.processes import Pipeline
from tests.integration.receiver import WebhookReceiver
from tests.integration.waiting import wait_for

FIXTURES = Path(__file__).parents[1] / "fixtures"


def unstuck(pipeline: Pipeline, *args: str, api_key: str | None = None) -> Any:
    """Run ``unstuck ARGS --json`` with the pipeline's settings; parse its output."""
    done = subprocess.run(
        [sys.executable, "-m", "deploy", *args, "--json"],
        env=pipeline.operator_env(api_key=api_key),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


async def post_until_known(pipeline: Pipeline, api_key: str, body: Any) -> Any:
    """POST, retrying while the gateway has not yet read the new workspace."""
    headers = {"Authorization": f"Bearer {api_key}"}
    deadline = time.monotonic() + 30
    async with aiohttp.ClientSession(headers=headers) as session:
        while True:
            async with session.post(f"{pipeline.url}/signals", json=body) as response:
                answer = await response.json()
                if response.status != 401 or time.monotonic() > deadline:
                    return response.status, answer


async def test_operator_sets_up_a_workspace_and_receives_a_signed_result(
    pipeline: Pipeline, receiver: WebhookReceiver
) -> None:
    """workspace create, companies load, signal-type add, webhook set and rotate."""
    created = unstuck(pipeline, "workspace", "create", "cli-test")
    key = created["api_key"]
    loaded = unstuck(
        pipeline,
        "companies",
        "load",
        str(FIXTURES / "companies" / "remote_companies.csv"),
    )
    declared = unstuck(
        pipeline,
        "signal-type",
        "add",
        "Seat Limit Hit",
        "--description",
        "The workspace ran out of seats",
        api_key=key,
    )
    hook = unstuck(pipeline, "webhook", "set", receiver.url, api_key=key)
    rotated = unstuck(pipeline, "webhook", "rotate-secret", api_key=key)
    redeclared = unstuck(
        pipeline,
        "signal-type",
        "add",
        "Seat Limit Hit",
        "--description",
        "The workspace ran out of seats, again",
        api_key=key,
    )
    body = {
        "signal_type": declared["key"],
        "source": "billing",
        "occurred_at": "2026-11-02T08:00:00Z",
        "identity": {"email": "ops@acquia.com", "title": "Director of Engineering"},
    }

    status, answer = await post_until_known(pipeline, key, body)
    capture_id = answer["signal_capture_id"]
    delivered = wait_for(
        lambda: [
            d
            for d in receiver.accepted()
            if json.loads(d.body)["data"]["signal_capture_id"] == capture_id
        ]
    )

    assert loaded["loaded"] > 0
    assert declared["key"] == "seat_limit_hit"
    assert (declared["updated"], redeclared["updated"]) == (False, True)
    assert status == 200, answer
    assert answer["qualification"]["icp_code"] is not None
    Webhook(hook["secret"]).verify(delivered[0].body, delivered[0].headers)
    dropped = unstuck(pipeline, "webhook", "drop-old-secrets", api_key=key)
    assert rotated["secret"] != hook["secret"]
    assert dropped == {"dropped": 1}


def test_vendor_payloads_replay_into_postgresql(pipeline: Pipeline) -> None:
    """Every vendor fixture maps to a signal that is accepted, stored and qualified.

    HubSpot's own samples name HubSpot staff, and the remote-companies slice holds
    HubSpot, so with that list loaded some captures fit an ICP.
    """
    unstuck(
        pipeline,
        "companies",
        "load",
        str(FIXTURES / "companies" / "remote_companies.csv"),
    )
    created = unstuck(pipeline, "workspace", "create", "replay-test")
    key = created["api_key"]

    summary = wait_for(lambda: _replayed(pipeline, key), timeout=60)
    accepted = sum(n for code, n in summary["counts"].items() if code in ("200", "202"))
    workspace_id = created["workspace_id"]
    stored = wait_for(lambda: _count(pipeline, workspace_id) >= accepted and accepted)

    scored, with_icp, with_persona = _qualified(pipeline, workspace_id)

    assert summary["counts"].keys() <= {"200", "202"}
    assert accepted >= 20
    assert stored
    assert scored == accepted
    assert with_icp >= 1
    assert with_persona >= 1


def _qualified(pipeline: Pipeline, workspace_id: str) -> tuple[int, int, int]:
    """Captures scored at all, with an ICP code, and with a persona code."""
    with psycopg.connect(pipeline.database_url) as connection:
        row = connection.execute(
            "SELECT count(rules_version), count(icp_code), count(persona_code)"
            " FROM signal_captures WHERE workspace_id = %s",
            (workspace_id,),
        ).fetchone()
    assert row is not None
    return int(row[0]), int(row[1]), int(row[2])


def _replayed(pipeline: Pipeline, key: str) -> Any:
    summary = unstuck(pipeline, "replay", str(FIXTURES / "vendors"), api_key=key)
    return None if "401" in summary["counts"] else summary


def _count(pipeline: Pipeline, workspace_id: str) -> int:
    with psycopg.connect(pipeline.database_url) as connection:
        row = connection.execute(
            "SELECT count(*) FROM signal_captures WHERE workspace_id = %s",
            (workspace_id,),
        ).fetchone()
    return int(row[0]) if row else 0


def test_init_asks_for_the_configured_replication_and_says_why_it_failed(
    pipeline: Pipeline, tmp_path: Path
) -> None:
    """Two copies on a one-broker cluster: one line from Kafka, no traceback."""
    env = {
        **pipeline.operator_env(tmp_path),
        "UNSTUCK_TOPIC_PREFIX": f"repl{time.monotonic_ns()}.",
    }
    answers = [
        subprocess.run(
            [sys.executable, "-m", "deploy", "init"],
            env={**env, "UNSTUCK_TOPIC_REPLICATION_FACTOR": factor},
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        for factor in ("2", "none")
    ]

    assert [a.returncode for a in answers] == [1, 1]
    assert "replication factor" in answers[0].stderr.lower()
    assert "UNSTUCK_TOPIC_REPLICATION_FACTOR must be a whole number" in (
        answers[1].stderr
    )
    assert all("Traceback" not in a.stderr for a in answers)
