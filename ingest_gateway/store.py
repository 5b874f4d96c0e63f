"""Reading captures back for GET /signals/{id}.

The gateway only reads here; what is stored comes through Kafka and the records
sink. Without a database configured the route answers 503 rather than guessing.
"""

from __future__ import annotations

import json
from typing import Any

import psycopg
from psycopg.rows import dict_row
from psycopg_pool import AsyncConnectionPool

from ingest_gateway.errors import ApiError

CAPTURE_QUERY = """
SELECT c.capture_id, COALESCE(a.lead_id, c.lead_id) AS lead_id, c.signal_type,
       c.source, c.event_name, c.occurred_at, c.received_at, c.processed_at,
       c.bucket, c.context::text AS context_json, c.qualification,
       c.identity_normalized, l.kind AS lead_kind
  FROM signal_captures c
  -- The records sink may have merged the capture's lead into another one since.
  LEFT JOIN lead_aliases a ON a.alias_lead_id = c.lead_id
  LEFT JOIN leads l ON l.lead_id = COALESCE(a.lead_id, c.lead_id)
 WHERE c.workspace_id = %s AND c.capture_id = %s
"""


class CaptureStore:
    """A small pool of read connections to PostgreSQL."""

    def __init__(self, database_url: str | None) -> None:
        self._pool: AsyncConnectionPool[Any] | None = None
        if database_url:
            self._pool = AsyncConnectionPool(
                database_url, min_size=1, max_size=4, open=False, timeout=5
            )

    async def open(self) -> None:
        if self._pool is not None:
            await self._pool.open(wait=False)

    async def close(self) -> None:
        if self._pool is not None:
            await self._pool.close()

    async def capture(
        self, workspace_id: str, capture_id: str
    ) -> dict[str, Any] | None:
        """One stored capture of a workspace, shaped as the API answers it."""
        if self._pool is None:
            raise ApiError(503, "unavailable", "no database is configured")

        try:
            async with self._pool.connection() as connection:
                cursor = connection.cursor(row_factory=dict_row)
                await cursor.execute(CAPTURE_QUERY, (workspace_id, capture_id))
                row = await cursor.fetchone()
        except (psycopg.OperationalError, TimeoutError) as error:
            raise ApiError(
                503,
                "unavailable",
                "the capture store is unavailable; retry later",
                headers={"Retry-After": "5"},
            ) from error

        return None if row is None else _document(row)


def _document(row: dict[str, Any]) -> dict[str, Any]:
    context = json.loads(row["context_json"]) if row["context_json"] else None
    return {
        "signal_capture_id": row["capture_id"],
        "matched_record_id": row["lead_id"],
        "lead_kind": row["lead_kind"],
        "signal_type": row["signal_type"],
        "source": row["source"],
        "event_name": row["event_name"],
        "occurred_at": row["occurred_at"].isoformat(),
        "received_at": row["received_at"].isoformat(),
        "processed_at": row["processed_at"].isoformat(),
        "bucket": row["bucket"],
        "identity": row["identity_normalized"],
        "context": context,
        "qualification": row["qualification"],
    }
