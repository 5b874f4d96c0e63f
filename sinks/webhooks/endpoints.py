"""The ``webhook_endpoints`` table: which endpoints still get deliveries, and why not.

An endpoint that has failed every attempt for days is disabled, so its workspace's
deliveries stop piling up retries; the reason stays in the row for the workspace
to read (``unstuck deliveries endpoints``) until it re-enables the endpoint.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import psycopg
import structlog

from sinks.database import AsyncDatabase, is_transient

log = structlog.get_logger(__name__)

STATUS = """
SELECT status, disabled_reason FROM webhook_endpoints
 WHERE workspace_id = %s AND url = %s
"""

RECORD_FAILURE = """
INSERT INTO webhook_endpoints AS e (
    workspace_id, url, failing_since, last_failure_at, last_error,
    consecutive_failures
) VALUES (%(workspace_id)s, %(url)s, %(now)s, %(now)s, %(error)s, 1)
ON CONFLICT (workspace_id, url) DO UPDATE SET
    failing_since = COALESCE(e.failing_since, EXCLUDED.failing_since),
    last_failure_at = EXCLUDED.last_failure_at,
    last_error = EXCLUDED.last_error,
    consecutive_failures = e.consecutive_failures + 1,
    updated_at = now()
"""

DISABLE_IF_FAILING_TOO_LONG = """
UPDATE webhook_endpoints
   SET status = 'disabled', disabled_at = %(now)s, updated_at = now(),
       disabled_reason = 'every delivery failed since '
           || to_char(failing_since AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"')
           || ' (' || consecutive_failures || ' attempts); last error: '
           || coalesce(last_error, 'unknown')
 WHERE workspace_id = %(workspace_id)s AND url = %(url)s AND status = 'active'
   AND failing_since <= %(cutoff)s
RETURNING disabled_reason
"""

RECORD_SUCCESS = """
INSERT INTO webhook_endpoints AS e (workspace_id, url, last_success_at)
VALUES (%(workspace_id)s, %(url)s, %(now)s)
ON CONFLICT (workspace_id, url) DO UPDATE SET
    failing_since = NULL, consecutive_failures = 0,
    last_success_at = EXCLUDED.last_success_at, updated_at = now()
"""


@dataclass(frozen=True)
class EndpointState:
    """Whether an endpoint takes deliveries, and the reason when it does not."""

    disabled: bool
    reason: str | None = None


ACTIVE = EndpointState(False)


class EndpointHealth:
    """Reads and updates endpoint health over one async connection.

    Health is advisory: when PostgreSQL is unreachable an endpoint counts as
    active and a failure goes unrecorded, so a database outage never stops
    deliveries; it only delays disabling a dead endpoint.
    """

    def __init__(self, database_url: str, disable_after_s: float) -> None:
        self._database = AsyncDatabase(database_url)
        self._disable_after = timedelta(seconds=disable_after_s)

    async def state(self, workspace_id: str, url: str) -> EndpointState:
        """The endpoint's state; active when it was never seen."""
        rows = await self._run(STATUS, (workspace_id, url))
        if not rows or rows[0][0] != "disabled":
            return ACTIVE
        return EndpointState(True, str(rows[0][1]))

    async def failed(
        self, workspace_id: str, url: str, error: str, now: datetime
    ) -> EndpointState:
        """Count a failed attempt; disable the endpoint once it failed long enough."""
        params = {"workspace_id": workspace_id, "url": url, "now": now, "error": error}
        await self._run(RECORD_FAILURE, params)
        cutoff = now - self._disable_after
        rows = await self._run(
            DISABLE_IF_FAILING_TOO_LONG, {**params, "cutoff": cutoff}
        )
        if not rows:
            return ACTIVE
        # The host only: a webhook URL often carries a token in its path or query.
        host = urlsplit(url).hostname
        log.warning("webhook.endpoint_disabled", workspace_id=workspace_id, host=host)
        return EndpointState(True, str(rows[0][0]))

    async def succeeded(self, workspace_id: str, url: str, now: datetime) -> None:
        """Clear the failure streak."""
        await self._run(
            RECORD_SUCCESS, {"workspace_id": workspace_id, "url": url, "now": now}
        )

    async def close(self) -> None:
        """Close the connection if one is open."""
        await self._database.reset()

    async def _run(self, query: str, params: Any) -> list[tuple[Any, ...]]:
        for tries_left in (1, 0):
            try:
                conn = await self._database.connection()
                cursor = await conn.execute(query.encode(), params)
                return await cursor.fetchall() if cursor.description else []
            except psycopg.Error as error:
                if not is_transient(error):
                    raise
                await self._database.reset()
                if not tries_left:
                    log.error(
                        "webhook.endpoint_health_unavailable", sqlstate=error.sqlstate
                    )
        return []
