"""The records sink worker between the real Kafka and the real PostgreSQL."""

from __future__ import annotations

import time
import uuid
from datetime import timedelta

import psycopg
import psycopg.conninfo

from schemas import codec
from schemas.topics import RECORDS, RECORDS_DLQ
from sinks.records.worker import run
from sinks.settings import SinkSettings
from tests.integration.sinks.conftest import (
    BASE_TIME,
    WorkerThread,
    committed,
    encode_record,
    make_record,
    produce,
    read_all,
    wait_for,
)
from tests.integration.sinks.proxy import CuttableProxy


def _count(database_url: str, workspace: str) -> int:
    with psycopg.connect(database_url) as conn:
        row = conn.execute(
            "SELECT count(*) FROM signal_captures WHERE workspace_id = %s",
            (workspace,),
        ).fetchone()
    return int(row[0]) if row else 0


def test_worker_stores_records_and_dead_letters_garbage(
    sink_settings: SinkSettings, running: list[WorkerThread]
) -> None:
    """Records land in PostgreSQL, garbage goes to records.dlq with its bytes."""
    bootstrap, prefix = (
        sink_settings.kafka_bootstrap_servers,
        sink_settings.topic_prefix,
    )
    workspace, lead = f"ws-{uuid.uuid4().hex[:8]}", f"lead-{uuid.uuid4().hex[:8]}"
    records = [
        make_record(workspace, lead, occurred_at=BASE_TIME + timedelta(seconds=n))
        for n in range(5)
    ]
    produce(
        bootstrap,
        RECORDS.name(prefix),
        [encode_record(r) for r in records] + [(b"bad", b"not avro at all")],
    )

    running.append(WorkerThread(run, sink_settings).start())

    wait_for(lambda: _count(sink_settings.database_url, workspace) == 5, what="rows")
    letters = read_all(bootstrap, RECORDS_DLQ.name(prefix), 1)
    letter = codec.decode("dead_letter", letters[0].value())
    assert letter["value"] == b"not avro at all"
    assert letter["topic"] == RECORDS.name(prefix)
    assert letter["stage"] == "sink.records"
    wait_for(
        lambda: (
            committed(bootstrap, sink_settings.records_group, RECORDS.name(prefix), 6)
            == 6
        ),
        what="offsets committed",
    )


def test_restart_neither_loses_nor_duplicates(
    sink_settings: SinkSettings, running: list[WorkerThread]
) -> None:
    """B26 via Kafka, then a restart: committed work is not redone, new work lands."""
    bootstrap, prefix = (
        sink_settings.kafka_bootstrap_servers,
        sink_settings.topic_prefix,
    )
    topic = RECORDS.name(prefix)
    workspace, lead = f"ws-{uuid.uuid4().hex[:8]}", f"lead-{uuid.uuid4().hex[:8]}"
    first = make_record(workspace, lead, occurred_at=BASE_TIME)
    later = make_record(
        workspace, lead, occurred_at=BASE_TIME + timedelta(seconds=1), title="CMO"
    )
    produce(bootstrap, topic, [encode_record(r) for r in (later, first, first)])

    worker = WorkerThread(run, sink_settings).start()
    running.append(worker)
    wait_for(lambda: _count(sink_settings.database_url, workspace) == 2, what="rows")
    wait_for(
        lambda: committed(bootstrap, sink_settings.records_group, topic, 6) == 3,
        what="first commit",
    )
    worker.join()

    extra = make_record(workspace, lead, occurred_at=BASE_TIME - timedelta(days=1))
    produce(bootstrap, topic, [encode_record(extra)])
    running.append(WorkerThread(run, sink_settings).start())
    wait_for(
        lambda: committed(bootstrap, sink_settings.records_group, topic, 6) == 4,
        what="second commit",
    )

    with psycopg.connect(sink_settings.database_url) as conn:
        lead_row = conn.execute(
            "SELECT title, first_seen_at, last_capture_id FROM leads"
            " WHERE lead_id = %s",
            (lead,),
        ).fetchone()
    assert _count(sink_settings.database_url, workspace) == 3
    assert lead_row == ("CMO", extra["occurred_at"], later["capture_id"])


def test_database_outage_is_waited_out_without_committing(
    sink_settings: SinkSettings, running: list[WorkerThread]
) -> None:
    """While PostgreSQL is unreachable offsets stay put; after it returns all lands."""
    bootstrap, prefix = (
        sink_settings.kafka_bootstrap_servers,
        sink_settings.topic_prefix,
    )
    topic, group = RECORDS.name(prefix), sink_settings.records_group
    upstream = psycopg.conninfo.conninfo_to_dict(sink_settings.database_url)
    proxy = CuttableProxy(str(upstream["host"]), int(str(upstream["port"])))
    url = psycopg.conninfo.make_conninfo(
        sink_settings.database_url, host="127.0.0.1", port=str(proxy.port)
    )
    settings = sink_settings.model_copy(update={"database_url": url})
    workspace, lead = f"ws-{uuid.uuid4().hex[:8]}", f"lead-{uuid.uuid4().hex[:8]}"

    try:
        running.append(WorkerThread(run, settings).start())
        produce(bootstrap, topic, [encode_record(make_record(workspace, lead))])
        wait_for(lambda: committed(bootstrap, group, topic, 6) == 1, what="commit")

        proxy.cut()
        later = [make_record(workspace, lead) for _ in range(3)]
        produce(bootstrap, topic, [encode_record(r) for r in later])
        time.sleep(3)
        assert committed(bootstrap, group, topic, 6) == 1
        assert _count(sink_settings.database_url, workspace) == 1

        proxy.restore()
        wait_for(lambda: committed(bootstrap, group, topic, 6) == 4, what="resume")
        assert _count(sink_settings.database_url, workspace) == 4
    finally:
        for worker in running:
            worker.join()
        proxy.close()
