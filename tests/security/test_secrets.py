"""API keys never appear in clear in the services' logs or in PostgreSQL."""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.request

import psycopg
from psycopg import sql

from tests.faults.conftest import Tenant
from tests.faults.driver import signal_body

KEY_PATTERN = re.compile(r"usk_[A-Za-z0-9_-]{20,}")


def _request(url: str, key: str, body: bytes | None = None) -> int:
    request = urllib.request.Request(
        url,
        data=body,
        headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=15) as answer:
            return int(answer.status)
    except urllib.error.HTTPError as error:
        return int(error.code)


def _every_text_cell(database_url: str) -> str:
    """Every row of every table in the public schema, as text."""
    chunks = []
    with psycopg.connect(database_url) as connection:
        tables = connection.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"
        ).fetchall()
        for (table,) in tables:
            query = sql.SQL("SELECT t::text FROM {} t").format(sql.Identifier(table))
            chunks += [row[0] for row in connection.execute(query)]
    return "\n".join(chunks)


def test_api_keys_stay_out_of_logs_and_database(tenant: Tenant) -> None:
    """After good, bad and unknown-key requests, no key is in a log or a row."""
    pipeline = tenant.stack.pipeline
    good = json.dumps(signal_body(tenant.tag, 1)).encode()
    wrong_key = "usk_" + "x" * 43

    statuses = [
        _request(f"{pipeline.url}/signals", tenant.api_key, good),
        _request(f"{pipeline.url}/signals", tenant.api_key, b"{not json"),
        _request(f"{pipeline.url}/signals", wrong_key, good),
        _request(f"{pipeline.url}/signals/nope", tenant.api_key),
    ]
    logs = "\n".join(
        path.read_text(errors="replace") for path in pipeline.log_dir.glob("*.log")
    )
    stored = _every_text_cell(pipeline.database_url)

    assert statuses[0] in (200, 202)
    assert statuses[1:] == [400, 401, 404]
    assert logs
    assert stored
    assert tenant.api_key not in logs
    assert wrong_key not in logs
    assert KEY_PATTERN.findall(logs) == []
    assert KEY_PATTERN.findall(stored) == []
