"""Rows per second of the records sink path against a bare COPY of the same rows.

``python -m benchmarks.sinks [--rows N] [--batch N]``. Uses ``DATABASE_URL`` when
set, else starts a throwaway embedded PostgreSQL. The sink path is what the worker
does per batch (Avro decode, lead matching, capture insert, lead and company
upserts in one transaction); the baseline is psycopg ``COPY`` of the capture rows
alone into the same table, prepared beforehand, so the ratio is the price of
idempotence and lead upkeep.
"""

from __future__ import annotations

import argparse
import os
import random
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg

from schemas import codec
from sinks.records.migrate import migrate
from sinks.records.store import CAPTURE_COLUMNS, _capture_row, upsert_records

COPY_COLUMNS = ", ".join(CAPTURE_COLUMNS)
T0 = datetime(2024, 5, 1, tzinfo=UTC)


def _record(workspace: str, n: int, rng: random.Random) -> dict[str, Any]:
    person = rng.randrange(max(1, n // 4 + 1))
    email = f"person{person}@example.com"
    identity = {
        "email": email,
        "linkedin_url": None,
        "company_domain": "example.com",
        "first_name": "Jane",
        "last_name": "Doe",
        "title": "VP of Marketing",
    }
    capture = str(uuid.uuid4())
    at = T0 + timedelta(seconds=n)
    return {
        "capture_id": capture,
        "workspace_id": workspace,
        "lead_id": f"{workspace}-lead-{person}",
        "lead_kind": "person",
        "dedupe_key": f"dk-{capture}",
        "signal_type": "website_visit",
        "source": "web_tracker",
        "event_name": "pricing_page_viewed",
        "occurred_at": at,
        "received_at": at,
        "processed_at": at,
        "identity": identity,
        "identity_normalized": identity,
        "context_json": '{"page_url": "https://example.com/pricing"}',
        "bucket": None,
        "company": None,
        "qualification": {
            "icp_code": "icp_saas",
            "icp_score": 70,
            "persona_code": "marketing_leader",
            "persona_score": 80,
            "reasons": ["industry matches"],
            "rules_version": "v1",
        },
        "idempotency_key": None,
    }


def _messages(rows: int) -> list[bytes]:
    rng = random.Random(5)
    workspace = f"bench-{uuid.uuid4().hex[:8]}"
    return [codec.encode("record", _record(workspace, n, rng)) for n in range(rows)]


def sink_path(url: str, messages: list[bytes], batch: int) -> float:
    """Seconds to decode and upsert every message in batches, as the worker does."""
    with psycopg.connect(url, autocommit=True) as conn:
        started = time.perf_counter()
        for start in range(0, len(messages), batch):
            chunk = messages[start : start + batch]
            upsert_records(conn, [codec.decode("record", m) for m in chunk])
        return time.perf_counter() - started


def _copy_rows(messages: list[bytes]) -> list[tuple[Any, ...]]:
    """The capture rows of ``messages`` under fresh ids, shaped as the sink shapes."""
    rows = []
    for message in messages:
        record = codec.decode("record", message)
        record["capture_id"] = str(uuid.uuid4())
        record["dedupe_key"] = f"copy-{record['capture_id']}"
        shaped = _capture_row(record)
        rows.append(tuple(shaped[f] for f in CAPTURE_COLUMNS))
    return rows


def copy_path(url: str, messages: list[bytes], include_decode: bool) -> float:
    """Seconds to COPY the same capture rows; decoding timed only if asked."""
    started = time.perf_counter()
    rows = _copy_rows(messages)
    if not include_decode:
        started = time.perf_counter()

    with psycopg.connect(url) as conn:
        with (
            conn.cursor() as cursor,
            cursor.copy(f"COPY signal_captures ({COPY_COLUMNS}) FROM STDIN") as copy,
        ):
            for row in rows:
                copy.write_row(row)
        conn.commit()
    return time.perf_counter() - started


@contextmanager
def database() -> Iterator[str]:
    """``DATABASE_URL``, or a throwaway local PostgreSQL."""
    configured = os.environ.get("DATABASE_URL")
    if configured:
        yield configured
        return

    from deploy.local_postgres import LocalPostgres

    with tempfile.TemporaryDirectory() as folder, LocalPostgres(folder) as server:
        yield server.url


def main() -> None:
    """Run both paths on the same rows and print rows per second and the ratio."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=20_000)
    parser.add_argument("--batch", type=int, default=500)
    args = parser.parse_args()

    messages = _messages(args.rows)
    with database() as url:
        migrate(url)
        sink_s = sink_path(url, messages, args.batch)
        bare_s = copy_path(url, messages, include_decode=False)
        decoded_s = copy_path(url, messages, include_decode=True)

    sink, bare, decoded = (args.rows / s for s in (sink_s, bare_s, decoded_s))
    print(f"rows: {args.rows}, batch: {args.batch}")
    print(f"records sink (decode + match + upsert): {sink:,.0f} rows/s")
    print(f"bare COPY, rows shaped beforehand:      {bare:,.0f} rows/s")
    print(f"COPY from the same messages (decode):   {decoded:,.0f} rows/s")
    print(f"ratio sink/bare COPY:    {sink / bare:.2f}")
    print(f"ratio sink/decode+COPY:  {sink / decoded:.2f}")


if __name__ == "__main__":
    main()
