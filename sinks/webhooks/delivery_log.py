"""The ``webhook_deliveries`` table: one row per attempt, for operators."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

import psycopg
import structlog

from sinks.database import AsyncDatabase, is_transient

log = structlog.get_logger(__name__)

INSERT_ATTEMPT = """
INSERT INTO webhook_deliveries (
    webhook_id, attempt, workspace_id, capture_id, url, status_code, error,
    latency_ms, attempted_at, delivered
) VALUES (
    %(webhook_id)s, %(attempt)s, %(workspace_id)s, %(capture_id)s, %(url)s,
    %(status_code)s, %(error)s, %(latency_ms)s, %(attempted_at)s, %(delivered)s
)
"""


REMEMBER_MESSAGE = """
INSERT INTO webhook_messages (
    webhook_id, workspace_id, capture_id, message_key, message
) VALUES (%s, %s, %s, %s, %s)
ON CONFLICT (webhook_id) DO NOTHING
"""

HIGHEST_ATTEMPT = """
SELECT max(attempt) FROM webhook_deliveries WHERE webhook_id = %s
"""


@dataclass(frozen=True)
class Attempt:
    """What happened on one delivery attempt."""

    webhook_id: str
    attempt: int
    workspace_id: str
    capture_id: str
    url: str
    status_code: int | None
    error: str | None
    latency_ms: int | None
    attempted_at: datetime
    delivered: bool


class DeliveryLog:
    """Appends attempts over one async connection, reopened after an outage.

    The log is a record of what happened, not part of the delivery: when
    PostgreSQL stays down through a reconnect the row is dropped with an error
    event, and the delivery itself goes on. Losing these rows during a database
    outage is the accepted cost of never holding webhooks hostage to it.
    """

    def __init__(self, database_url: str) -> None:
        self._database = AsyncDatabase(database_url)

    async def record(self, attempt: Attempt) -> None:
        """Append one attempt, retrying once on a fresh connection."""
        for tries_left in (1, 0):
            try:
                conn = await self._database.connection()
                await conn.execute(INSERT_ATTEMPT, asdict(attempt))
            except psycopg.Error as error:
                if not is_transient(error):
                    raise
                await self._database.reset()
                if tries_left:
                    continue
                log.error(
                    "webhook.delivery_log_lost",
                    webhook_id=attempt.webhook_id,
                    attempt=attempt.attempt,
                    sqlstate=error.sqlstate,
                )
            return

    async def remember(
        self,
        webhook: dict[str, Any],
        key: bytes | None,
        value: bytes,
    ) -> None:
        """Keep the message of a first attempt for later redelivery; best effort."""
        params = (
            webhook["webhook_id"],
            webhook["workspace_id"],
            webhook["capture_id"],
            key,
            value,
        )
        try:
            conn = await self._database.connection()
            await conn.execute(REMEMBER_MESSAGE, params)
        except psycopg.Error as error:
            if not is_transient(error):
                raise
            await self._database.reset()
            log.error(
                "webhook.message_not_kept",
                webhook_id=webhook["webhook_id"],
                sqlstate=error.sqlstate,
            )

    async def highest_attempt(self, webhook_id: str) -> int:
        """The highest attempt number logged for a webhook, 0 when none or unknown.

        Lets a retry re-read after a restart see that its attempt already
        happened. When PostgreSQL is down the answer is 0: a possible repeat,
        which receivers drop by webhook id, beats a delivery held back.
        """
        try:
            conn = await self._database.connection()
            cursor = await conn.execute(HIGHEST_ATTEMPT, (webhook_id,))
            row = await cursor.fetchone()
        except psycopg.Error as error:
            if not is_transient(error):
                raise
            await self._database.reset()
            return 0
        return int(row[0]) if row and row[0] is not None else 0

    async def close(self) -> None:
        """Close the connection if one is open."""
        await self._database.reset()
