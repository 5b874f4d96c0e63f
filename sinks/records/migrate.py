"""Numbered SQL migrations, applied once each, safely from many processes at once."""

from __future__ import annotations

import re
from importlib import resources

import psycopg
import structlog

from sinks.errors import MigrationError

log = structlog.get_logger(__name__)

# Any constant shared by every process that migrates this database; it serializes
# them so two workers starting together never apply the same file twice.
ADVISORY_LOCK_KEY = 0x756E_7374_7563_6B01

MIGRATION_NAME = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")


def migration_files() -> list[tuple[int, str, str]]:
    """Every migration shipped with the package as (version, name, SQL), in order."""
    folder = resources.files("sinks.records") / "migrations"
    found = []
    for entry in folder.iterdir():
        match = MIGRATION_NAME.match(entry.name)
        if match is not None:
            found.append((int(match[1]), entry.name, entry.read_text("utf-8")))
    return sorted(found)


def migrate(database_url: str) -> list[str]:
    """Apply the migrations the database lacks; return the names applied now."""
    applied_now: list[str] = []
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("SELECT pg_advisory_lock(%s)", (ADVISORY_LOCK_KEY,))
        try:
            done = _applied_versions(conn)
            for version, name, sql in migration_files():
                if version not in done:
                    _apply(conn, version, name, sql)
                    applied_now.append(name)
        finally:
            conn.execute("SELECT pg_advisory_unlock(%s)", (ADVISORY_LOCK_KEY,))
    return applied_now


def _applied_versions(conn: psycopg.Connection[tuple[object, ...]]) -> set[int]:
    conn.execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations ("
        " version integer PRIMARY KEY,"
        " name text NOT NULL,"
        " applied_at timestamptz NOT NULL DEFAULT now())"
    )
    rows = conn.execute("SELECT version FROM schema_migrations").fetchall()
    return {int(str(row[0])) for row in rows}


def _apply(
    conn: psycopg.Connection[tuple[object, ...]], version: int, name: str, sql: str
) -> None:
    try:
        with conn.transaction():
            conn.execute(sql.encode("utf-8"))
            conn.execute(
                "INSERT INTO schema_migrations (version, name) VALUES (%s, %s)",
                (version, name),
            )
    except psycopg.Error as error:
        raise MigrationError(f"migration {name} failed: {error}") from error
    log.info("sink.migration_applied", version=version, name=name)
