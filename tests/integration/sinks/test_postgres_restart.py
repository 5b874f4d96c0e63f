"""The records sink across a real PostgreSQL stop and restart (issue 5)."""

from __future__ import annotations

import uuid
from datetime import timedelta
from pathlib import Path

import psycopg

from deploy.local_postgres import LocalPostgres
from schemas.topics import RECORDS
from sinks.records.worker import run
from sinks.settings import SinkSettings
from tests.integration.sinks.conftest import (
    BASE_TIME,
    WorkerThread,
    committed,
    encode_record,
    make_record,
    produce,
    wait_for,
)

TOTAL = 5000


def _count(database_url: str) -> int:
    try:
        with psycopg.connect(database_url, connect_timeout=2) as conn:
            row = conn.execute("SELECT count(*) FROM signal_captures").fetchone()
    except psycopg.OperationalError:
        return -1
    except psycopg.errors.UndefinedTable:
        return 0  # the worker has not run its migrations on the fresh server yet
    return int(row[0]) if row else 0


def test_postgres_stopped_and_restarted_mid_stream_keeps_exactly_5000(
    sink_settings: SinkSettings, tmp_path: Path
) -> None:
    """5,000 records with PostgreSQL stopped and restarted midway: exactly 5,000."""
    bootstrap, topic = (
        sink_settings.kafka_bootstrap_servers,
        RECORDS.name(sink_settings.topic_prefix),
    )
    workspace = f"ws-{uuid.uuid4().hex[:8]}"
    records = [
        encode_record(
            make_record(
                workspace,
                f"lead-{n % 700}",
                occurred_at=BASE_TIME + timedelta(seconds=n),
            )
        )
        for n in range(TOTAL)
    ]
    server = LocalPostgres(tmp_path / "pg")
    server.start()
    settings = sink_settings.model_copy(
        update={"database_url": server.url, "batch_max_size": 250}
    )
    worker = WorkerThread(run, settings).start()

    try:
        produce(bootstrap, topic, records[:2000])
        wait_for(lambda: _count(server.url) > 0, timeout=90, what="first rows")
        server.stop()
        produce(bootstrap, topic, records[2000:4000])
        server.start()
        produce(bootstrap, topic, records[4000:])
        wait_for(
            lambda: committed(bootstrap, settings.records_group, topic, 6) == TOTAL,
            timeout=120,
            what="every offset committed",
        )
    finally:
        worker.join()
        count = _count(server.url)
        server.stop()

    assert count == TOTAL
