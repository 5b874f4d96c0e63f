"""One PostgreSQL connection per worker, told apart from outages by SQLSTATE."""

from __future__ import annotations

from typing import Any

import psycopg

# SQLSTATE classes that describe the server or the link, not our data: waiting
# and retrying the same statements is the right answer.
# 08 connection exception, 40 transaction rollback (serialization, deadlock),
# 53 insufficient resources, 57 operator intervention (shutdown, cannot connect
# now), 58 system error.
TRANSIENT_CLASSES = frozenset({"08", "40", "53", "57", "58"})

# 22 data exception and 23 integrity constraint violation: one record is at
# fault, and retrying it will fail the same way forever.
BAD_DATA_CLASSES = frozenset({"22", "23"})

CONNECT_TIMEOUT_S = 5


def is_transient(error: psycopg.Error) -> bool:
    """Whether ``error`` means PostgreSQL is unavailable rather than our input bad."""
    if error.sqlstate is None:
        # No server answer at all: refused, reset or timed out connections.
        return isinstance(error, psycopg.OperationalError)
    return error.sqlstate[:2] in TRANSIENT_CLASSES


def is_bad_data(error: psycopg.Error) -> bool:
    """Whether ``error`` blames the rows written, so they can be isolated."""
    return error.sqlstate is not None and error.sqlstate[:2] in BAD_DATA_CLASSES


class Database:
    """A lazily opened autocommit connection, dropped after any transient error."""

    def __init__(self, url: str) -> None:
        self._url = url
        self._conn: psycopg.Connection[Any] | None = None

    def connection(self) -> psycopg.Connection[Any]:
        """The open connection, reconnecting first when the last one broke."""
        if self._conn is None or self._conn.closed:
            self._conn = psycopg.connect(
                self._url, autocommit=True, connect_timeout=CONNECT_TIMEOUT_S
            )
        return self._conn

    def reset(self) -> None:
        """Forget the connection so the next use opens a fresh one."""
        if self._conn is not None:
            self._conn.close()
        self._conn = None

    def close(self) -> None:
        self.reset()


class AsyncDatabase:
    """``Database`` for the asyncio workers: one lazy autocommit connection."""

    def __init__(self, url: str) -> None:
        self._url = url
        self._conn: psycopg.AsyncConnection[Any] | None = None

    async def connection(self) -> psycopg.AsyncConnection[Any]:
        """The open connection, reconnecting first when the last one broke."""
        if self._conn is None or self._conn.closed:
            self._conn = await psycopg.AsyncConnection.connect(
                self._url, autocommit=True, connect_timeout=CONNECT_TIMEOUT_S
            )
        return self._conn

    async def reset(self) -> None:
        """Forget the connection so the next use opens a fresh one."""
        if self._conn is not None:
            await self._conn.close()
        self._conn = None
