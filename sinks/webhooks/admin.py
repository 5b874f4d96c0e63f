"""Delivery operations behind ``unstuck deliveries``: log, redelivery, endpoints.

They live with the sink because they share its tables and retry topic; the CLI
module is a thin front over them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import psycopg
from confluent_kafka import Producer
from psycopg.rows import dict_row

from schemas.topics import WEBHOOKS_RETRY
from sinks.errors import SinkError
from sinks.settings import SinkSettings
from sinks.webhooks.schedule import RetryState

LIST_DELIVERIES = """
SELECT webhook_id, attempt, capture_id, url, status_code, error, latency_ms,
       attempted_at, delivered
  FROM webhook_deliveries
 WHERE workspace_id = %(workspace_id)s
   AND (%(capture_id)s::text IS NULL OR capture_id = %(capture_id)s)
   AND (%(delivered)s::boolean IS NULL OR delivered = %(delivered)s)
 ORDER BY attempted_at DESC, attempt DESC
 LIMIT %(limit)s
"""

LIST_ENDPOINTS = """
SELECT url, status, failing_since, consecutive_failures, last_error,
       last_failure_at, last_success_at, disabled_at, disabled_reason
  FROM webhook_endpoints WHERE workspace_id = %s ORDER BY url
"""

ENABLE_ENDPOINT = """
UPDATE webhook_endpoints
   SET status = 'active', failing_since = NULL, consecutive_failures = 0,
       disabled_at = NULL, disabled_reason = NULL, updated_at = now()
 WHERE workspace_id = %s AND url = %s
"""

# Messages to redeliver with the highest attempt each has had so far, so the
# redelivery continues the numbering and the worker's repeat check lets it by.
REDELIVERABLE = """
SELECT m.webhook_id, m.message_key, m.message,
       COALESCE(max(d.attempt), 0) AS attempts,
       COALESCE(bool_or(d.delivered), false) AS delivered
  FROM webhook_messages m
  LEFT JOIN webhook_deliveries d ON d.webhook_id = m.webhook_id
 WHERE m.workspace_id = %(workspace_id)s
   AND (%(ids)s::text[] IS NULL OR m.webhook_id = ANY(%(ids)s))
   AND (%(since)s::timestamptz IS NULL OR m.created_at >= %(since)s)
   AND (%(until)s::timestamptz IS NULL OR m.created_at < %(until)s)
 GROUP BY m.webhook_id
 ORDER BY min(m.created_at), m.webhook_id
"""

FLUSH_S = 30.0


class RedeliveryError(SinkError):
    """Re-enqueued webhooks were not acknowledged by Kafka."""


@dataclass(frozen=True)
class Redelivery:
    """One webhook put back on the retry topic, and its attempt number there."""

    webhook_id: str
    attempt: int


def list_deliveries(
    database_url: str,
    workspace_id: str,
    capture_id: str | None = None,
    delivered: bool | None = None,
    limit: int = 50,
) -> list[dict[str, Any]]:
    """The workspace's latest attempts, newest first, optionally filtered."""
    params = {
        "workspace_id": workspace_id,
        "capture_id": capture_id,
        "delivered": delivered,
        "limit": limit,
    }
    with psycopg.connect(database_url) as conn:
        cursor = conn.cursor(row_factory=dict_row)
        return cursor.execute(LIST_DELIVERIES, params).fetchall()


def list_endpoints(database_url: str, workspace_id: str) -> list[dict[str, Any]]:
    """The workspace's endpoints with their health and why one is disabled."""
    with psycopg.connect(database_url) as conn:
        cursor = conn.cursor(row_factory=dict_row)
        return cursor.execute(LIST_ENDPOINTS, (workspace_id,)).fetchall()


def enable_endpoint(database_url: str, workspace_id: str, url: str) -> bool:
    """Let deliveries go to ``url`` again; False when it was never seen."""
    with psycopg.connect(database_url) as conn:
        cursor = conn.execute(ENABLE_ENDPOINT, (workspace_id, url))
        return cursor.rowcount > 0


def redeliver(
    settings: SinkSettings,
    workspace_id: str,
    webhook_ids: Sequence[str] | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    include_delivered: bool = False,
) -> list[Redelivery]:
    """Re-enqueue webhooks of the workspace on the retry topic, due now.

    Named ids are redelivered whatever their state; a time range takes only the
    undelivered ones unless ``include_delivered``. Each gets a full retry budget
    counted from its next attempt number.
    """
    params = {
        "workspace_id": workspace_id,
        "ids": list(webhook_ids) if webhook_ids else None,
        "since": since,
        "until": until,
    }
    with psycopg.connect(settings.database_url) as conn:
        rows = conn.execute(REDELIVERABLE, params).fetchall()
    if not webhook_ids and not include_delivered:
        rows = [row for row in rows if not row[4]]

    now = datetime.now(UTC)
    producer = Producer(
        {
            "bootstrap.servers": settings.kafka_bootstrap_servers,
            "enable.idempotence": True,
            "acks": "all",
        }
    )
    topic = WEBHOOKS_RETRY.name(settings.topic_prefix)
    done = []
    for webhook_id, key, message, attempts, _delivered in rows:
        state = RetryState(attempts + 1, now, attempts + settings.webhook_max_attempts)
        producer.produce(topic, key=key, value=bytes(message), headers=state.headers())
        done.append(Redelivery(str(webhook_id), state.attempt))

    if producer.flush(FLUSH_S):
        raise RedeliveryError("Kafka did not acknowledge every redelivery")
    return done
