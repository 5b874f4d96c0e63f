"""Migrations and batched upserts against the real PostgreSQL."""

from __future__ import annotations

import json
import threading
import uuid
from datetime import timedelta

import psycopg

from sinks.records.migrate import migrate
from sinks.records.store import upsert_records
from tests.integration.sinks.conftest import BASE_TIME, make_record


def _ids() -> tuple[str, str]:
    return f"ws-{uuid.uuid4().hex[:8]}", f"lead-{uuid.uuid4().hex[:8]}"


def test_concurrent_migrations_apply_each_file_once(database_url: str) -> None:
    """Several processes migrating at once serialize on the lock and all succeed."""
    errors: list[BaseException] = []

    def attempt() -> None:
        try:
            migrate(database_url)
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=attempt) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)

    with psycopg.connect(database_url) as conn:
        versions = conn.execute(
            "SELECT version, count(*) FROM schema_migrations GROUP BY version"
        ).fetchall()
    assert errors == []
    assert (1, 1) in versions
    assert migrate(database_url) == []


def test_b26_duplicate_in_batch_and_later_event_first(database_url: str) -> None:
    """B26: a batch with one capture twice commits; the lead shows the later event."""
    migrate(database_url)
    workspace, lead = _ids()
    first = make_record(workspace, lead, occurred_at=BASE_TIME, icp_score=40)
    later = make_record(
        workspace,
        lead,
        occurred_at=BASE_TIME + timedelta(seconds=1),
        event_name="demo_requested",
        title="CMO",
        icp_score=90,
    )

    with psycopg.connect(database_url, autocommit=True) as conn:
        result = upsert_records(conn, [later, first, dict(first)])
        captures = conn.execute(
            "SELECT count(*) FROM signal_captures WHERE workspace_id = %s",
            (workspace,),
        ).fetchone()
        leads = conn.execute(
            "SELECT last_capture_id, title, icp_score, last_activity_at, first_seen_at"
            " FROM leads WHERE workspace_id = %s",
            (workspace,),
        ).fetchall()

    assert (result.captures_inserted, result.captures_skipped) == (2, 0)
    assert captures == (2,)
    assert leads == [(later["capture_id"], "CMO", 90, later["occurred_at"], BASE_TIME)]


def test_an_older_event_arriving_later_does_not_win(database_url: str) -> None:
    """Across batches too, latest fields follow occurred_at, not arrival order."""
    migrate(database_url)
    workspace, lead = _ids()
    later = make_record(
        workspace,
        lead,
        occurred_at=BASE_TIME + timedelta(hours=1),
        title="CMO",
        icp_score=90,
    )
    older = make_record(
        workspace, lead, occurred_at=BASE_TIME, title="Intern", icp_score=10
    )
    unqualified_latest = make_record(
        workspace, lead, occurred_at=BASE_TIME + timedelta(hours=2), title="CMO"
    )

    with psycopg.connect(database_url, autocommit=True) as conn:
        upsert_records(conn, [later])
        upsert_records(conn, [older])
        upsert_records(conn, [unqualified_latest])
        row = conn.execute(
            "SELECT title, icp_score, first_seen_at, last_capture_id FROM leads"
            " WHERE lead_id = %s",
            (lead,),
        ).fetchone()

    assert row == ("CMO", 90, BASE_TIME, unqualified_latest["capture_id"])


def test_replayed_batch_inserts_nothing(database_url: str) -> None:
    """Storing the same batch twice (a redelivery) adds no capture row."""
    migrate(database_url)
    workspace, lead = _ids()
    batch = [make_record(workspace, lead), make_record(workspace, lead)]

    with psycopg.connect(database_url, autocommit=True) as conn:
        upsert_records(conn, batch)
        again = upsert_records(conn, batch)

    assert (again.captures_inserted, again.captures_skipped) == (0, 2)


def test_context_big_integers_land_exactly(database_url: str) -> None:
    """context_json goes into jsonb as text: 2**64, 1.0 and -1e400 stay exact."""
    migrate(database_url)
    workspace, lead = _ids()
    context = '{"big": 18446744073709551616, "ratio": 1.0, "neg": -1e400}'
    record = make_record(workspace, lead, context_json=context)

    with psycopg.connect(database_url, autocommit=True) as conn:
        upsert_records(conn, [record])
        row = conn.execute(
            "SELECT context->>'big', context->>'ratio', context->>'neg'"
            " FROM signal_captures WHERE capture_id = %s",
            (record["capture_id"],),
        ).fetchone()

    assert row == ("18446744073709551616", "1.0", "-1" + "0" * 400)
    assert json.loads(context)["big"] == 2**64
