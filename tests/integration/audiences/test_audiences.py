"""Audiences end to end: real processes, Kafka, PostgreSQL and the CLI."""

from __future__ import annotations

import json
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest
from confluent_kafka import Consumer, Producer, TopicPartition

from schemas import codec
from schemas.topic_setup import ensure_topics
from schemas.topics import AUDIENCE_LEADS, AUDIENCE_MEMBERSHIP
from schemas.workspace import new_workspace, publish_workspace
from sinks.records.migrate import migrate
from sinks.records.store import upsert_records
from tests.integration.conftest import Workspace
from tests.integration.pipeline.processes import Pipeline

CLI_MAIN = "from deploy.cli import main; main()"


@pytest.fixture(scope="module")
def clock_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The file the audience agent reads its clock offset (seconds) from."""
    path = tmp_path_factory.mktemp("clock") / "offset"
    path.write_text("0")
    return path


@pytest.fixture(scope="module")
def audience_pipeline(
    kafka_bootstrap: str,
    database_url: str,
    clock_file: Path,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Pipeline]:
    """A pipeline whose audience agent has a controllable clock and a fast timer."""
    prefix = f"aud{uuid.uuid4().hex[:8]}."
    ensure_topics(kafka_bootstrap, prefix)
    migrate(database_url)
    running = Pipeline(
        kafka_bootstrap,
        database_url,
        prefix,
        tmp_path_factory.mktemp("audience-logs"),
        extra_env={
            "UNSTUCK_AUDIENCE_CLOCK_OFFSET_FILE": str(clock_file),
            "UNSTUCK_AUDIENCE_TICK_INTERVAL_SECONDS": "0.5",
        },
    )
    running.start_all()
    yield running
    running.stop_all()


@pytest.fixture
def space(audience_pipeline: Pipeline) -> Workspace:
    """A fresh workspace the gateway already knows."""
    config, api_key = new_workspace(f"aud-{uuid.uuid4().hex[:8]}")
    publish_workspace(
        audience_pipeline.kafka_bootstrap, audience_pipeline.prefix, config
    )
    created = Workspace(audience_pipeline, config, api_key)
    created.wait_known()
    return created


def cli(space: Workspace, tmp_path: Path, *args: str) -> tuple[int, Any]:
    """Run ``unstuck audience ... --json`` as an operator would; return its answer."""
    done = subprocess.run(
        [sys.executable, "-c", CLI_MAIN, "audience", *args, "--json"],
        env=space.pipeline.operator_env(tmp_path, space.api_key),
        capture_output=True,
        timeout=120,
        check=False,
    )
    output = done.stdout.decode()
    return done.returncode, json.loads(output) if output.strip() else done.stderr


def post(space: Workspace, email: str, team_size: int, **extra: Any) -> str:
    """POST one signal; return the lead it matched."""
    body = {
        "signal_type": extra.get("signal_type", "custom_event"),
        "source": "product",
        "occurred_at": extra.get("occurred_at", datetime.now(UTC).isoformat()),
        "identity": {"email": email},
        "context": {"team_size": team_size},
    }
    request = urllib.request.Request(
        f"{space.pipeline.url}/signals",
        data=json.dumps(body).encode(),
        headers={**space.headers, "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=60) as response:
        return str(json.loads(response.read())["matched_record_id"])


def get_json(space: Workspace, path: str) -> tuple[int, Any]:
    request = urllib.request.Request(
        f"{space.pipeline.url}{path}", headers=space.headers
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return response.status, json.loads(response.read())


def wait_for(predicate: Callable[[], Any], timeout: float = 60.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.3)
    raise TimeoutError("condition not met in time")


def members(database_url: str, audience_id: str) -> dict[str, bool]:
    with psycopg.connect(database_url) as conn:
        rows = conn.execute(
            "SELECT lead_id, member FROM audience_members WHERE audience_id = %s",
            (audience_id,),
        ).fetchall()
    return {str(row[0]): bool(row[1]) for row in rows}


def current_members(database_url: str, audience_id: str) -> set[str]:
    """The leads that are members of the audience now."""
    return {
        lead for lead, member in members(database_url, audience_id).items() if member
    }


def membership_events(pipeline: Pipeline, audience_id: str) -> list[dict[str, Any]]:
    """Every event of the audience on the membership topic, read from the start."""
    topic = AUDIENCE_MEMBERSHIP.name(pipeline.prefix)
    consumer = Consumer(
        {"bootstrap.servers": pipeline.kafka_bootstrap, "group.id": uuid.uuid4().hex}
    )
    try:
        partitions = consumer.list_topics(topic, timeout=10).topics[topic].partitions
        ends = {
            p: consumer.get_watermark_offsets(TopicPartition(topic, p))[1]
            for p in partitions
        }
        consumer.assign([TopicPartition(topic, p, 0) for p in partitions])
        found: list[dict[str, Any]] = []
        remaining = {p for p, end in ends.items() if end > 0}
        deadline = time.monotonic() + 30
        while remaining and time.monotonic() < deadline:
            message = consumer.poll(0.5)
            if message is None or message.error():
                continue
            event = codec.decode("audience_membership", message.value())
            if event["audience_id"] == audience_id:
                found.append(event)
            if message.offset() + 1 >= ends[message.partition()]:
                remaining.discard(message.partition())
        return found
    finally:
        consumer.close()


def test_team_size_audience_enter_leave_topic_rows_and_show(
    space: Workspace, tmp_path: Path
) -> None:
    """Leads enter and leave; events, rows, counts and the API all agree."""
    status, created = cli(
        space, tmp_path, "create", "big-teams", "signals.context.team_size > 10"
    )
    assert status == 0, created
    audience_id = created["audience_id"]

    big = post(space, "ana@acme.io", 14)
    small = post(space, "bo@acme.io", 3)
    stays = post(space, "cy@acme.io", 40)
    wait_for(lambda: members(space.pipeline.database_url, audience_id).get(big))
    shrunk = post(
        space,
        "ana@acme.io",
        5,
        occurred_at=(datetime.now(UTC) + timedelta(seconds=1)).isoformat(),
    )
    assert shrunk == big
    # Leads live in different partitions: the one that stays may be written after
    # the one that left, so wait for both.
    wait_for(
        lambda: (
            members(space.pipeline.database_url, audience_id)
            == {big: False, stays: True}
        )
    )

    rows = members(space.pipeline.database_url, audience_id)
    events = membership_events(space.pipeline, audience_id)
    status, shown = cli(space, tmp_path, "show", "big-teams")
    code, listed = get_json(space, f"/audiences/{audience_id}/members?limit=10")

    assert rows == {big: False, stays: True}
    assert small not in rows
    assert [(e["lead_id"], e["change"]) for e in events if e["lead_id"] == big] == [
        (big, "entered"),
        (big, "left"),
    ]
    assert "team_size = 5" in next(e["reason"] for e in events if e["change"] == "left")
    assert status == 0
    assert shown["member_count"] == 1
    assert [m["lead_id"] for m in shown["sample"]] == [stays]
    assert code == 200
    assert [m["lead_id"] for m in listed["members"]] == [stays]


def test_window_member_leaves_when_its_signal_ages_out(
    space: Workspace, tmp_path: Path, clock_file: Path
) -> None:
    """A 14-day pricing-visit audience drops its member once the clock passes it."""
    condition = 'count(signals.signal_type == "pricing_page_visit", 14d) >= 1'
    status, created = cli(space, tmp_path, "create", "pricing", condition)
    assert status == 0, created
    audience_id = created["audience_id"]
    visited = (datetime.now(UTC) - timedelta(days=2)).isoformat()

    lead = post(
        space, "di@acme.io", 1, signal_type="pricing_page_visit", occurred_at=visited
    )
    wait_for(lambda: members(space.pipeline.database_url, audience_id).get(lead))
    clock_file.write_text(str(13 * 86400))
    try:
        wait_for(
            lambda: members(space.pipeline.database_url, audience_id).get(lead) is False
        )
    finally:
        clock_file.write_text("0")

    events = membership_events(space.pipeline, audience_id)
    assert [e["change"] for e in events] == ["entered", "left"]
    assert events[1]["cause"].startswith("tick:")


def stored_record(
    workspace_id: str, lead: str, number: int, team_size: int
) -> dict[str, Any]:
    moment = datetime.now(UTC) - timedelta(hours=number)
    identity = {
        "email": f"{lead}@old.io",
        "linkedin_url": None,
        "company_domain": None,
        "first_name": None,
        "last_name": None,
        "title": None,
    }
    return {
        "capture_id": f"cap-{uuid.uuid4().hex}",
        "workspace_id": workspace_id,
        "lead_id": f"lead-{workspace_id}-{lead}",
        "lead_kind": "person",
        "dedupe_key": uuid.uuid4().hex,
        "signal_type": "custom_event",
        "source": "import",
        "event_name": None,
        "occurred_at": moment,
        "received_at": moment,
        "processed_at": moment,
        "identity": identity,
        "identity_normalized": identity,
        "context_json": json.dumps({"team_size": team_size}),
        "bucket": None,
        "company": None,
        "qualification": None,
        "idempotency_key": None,
    }


BACKFILL_QUERY = """
SELECT DISTINCT ON (lead_id) lead_id, (context->>'team_size')::int > 10
  FROM signal_captures WHERE workspace_id = %s
 ORDER BY lead_id, occurred_at DESC, capture_id DESC
"""


def test_backfill_matches_a_query_over_stored_records(
    space: Workspace, tmp_path: Path
) -> None:
    """Records only PostgreSQL holds are evaluated once the audience is created."""
    sizes = {"a": [3, 20], "b": [30, 2], "c": [11], "d": [1], "e": [50, 60, 70]}
    stored = [
        stored_record(space.id, lead, hours, size)
        for lead, series in sizes.items()
        for hours, size in enumerate(reversed(series))
    ]
    with psycopg.connect(space.pipeline.database_url, autocommit=True) as conn:
        upsert_records(conn, stored)
        expected = {
            lead for lead, big in conn.execute(BACKFILL_QUERY, (space.id,)) if big
        }

    status, created = cli(
        space, tmp_path, "create", "old-big", "signals.context.team_size > 10"
    )
    assert status == 0, created
    assert created["backfilled_leads"] == len(sizes)
    # Backfill seeds one lead after another: wait for the whole expected set,
    # not for the first member, then check that nothing else got in.
    audience_id = created["audience_id"]
    database_url = space.pipeline.database_url
    wait_for(lambda: expected <= current_members(database_url, audience_id))
    actual = current_members(database_url, audience_id)

    assert expected == actual
    assert len(expected) == 3


def test_malformed_condition_is_refused_with_its_position(
    space: Workspace, tmp_path: Path
) -> None:
    """The CLI refuses a bad condition and names the line and column."""
    status, answer = cli(
        space, tmp_path, "create", "broken", "lead.icp_score >= 10 and"
    )

    assert status == 2
    assert answer["error"] == "invalid_condition"
    assert (answer["line"], answer["column"]) == (1, 25)
    assert "line 1, column 25" in answer["message"]


def test_unreadable_lead_messages_are_skipped_and_leads_still_enter(
    space: Workspace, tmp_path: Path
) -> None:
    """A lead message that is not JSON, or lacks its fields, costs only itself."""
    pipeline = space.pipeline
    status, created = cli(
        space, tmp_path, "create", "after-junk", "signals.context.team_size > 10"
    )
    assert status == 0, created
    producer = Producer({"bootstrap.servers": pipeline.kafka_bootstrap})
    for value in (b"not json", b'{"cause": "no workspace"}', b"[1, 2]"):
        producer.produce(AUDIENCE_LEADS.name(pipeline.prefix), key=b"junk", value=value)
    assert producer.flush(30) == 0

    lead = post(space, "eve@acme.io", 25)
    wait_for(lambda: members(pipeline.database_url, created["audience_id"]).get(lead))
    log = (pipeline.log_dir / "processor-0.log").read_text(errors="replace")

    assert all(process.poll() is None for process in pipeline.processes["processor"])
    assert log.count("audiences.bad_lead_message") >= 3
