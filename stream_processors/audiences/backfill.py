"""Backfill: seed the audience agent with what PostgreSQL already holds.

A new or changed audience must cover leads whose signals arrived before it existed.
Rather than deciding membership here (a second writer would race the stream and
announce entries twice), the backfill reads each lead's stored facts and recent
captures and puts them on ``audience.leads`` as a *seed*, keyed by lead like the
live records. The agent folds a seed into the lead's state exactly as it folds a
record (signals are identified by capture id, so one seen both ways counts once)
and decides membership with the one table that holds it. Leads the agent processed
before the definition reached it are re-evaluated by its timer when it sees the new
version. So there is no gap (every lead is decided from stream or store) and no
double entry (one decider per lead).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

import psycopg
from confluent_kafka import Producer

from stream_processors.audiences.evaluate import micros
from stream_processors.audiences.language import MAX_WINDOW
from stream_processors.audiences.state import IDENTITY_FIELDS, LEAD_FIELDS, MAX_SIGNALS

LEADS = """
SELECT lead_id, kind, title, company_domain, first_name, last_name,
       icp_code, icp_score, persona_code, persona_score
FROM leads WHERE workspace_id = %s ORDER BY lead_id
"""

CAPTURES = """
SELECT lead_id, capture_id, occurred_at, signal_type, source, event_name, bucket,
       context, company
FROM signal_captures
WHERE workspace_id = %s AND occurred_at > %s
ORDER BY lead_id, occurred_at, capture_id
"""


def seeds(
    conn: psycopg.Connection[Any],
    workspace_id: str,
    now: datetime,
    cause: str,
    max_signals: int = MAX_SIGNALS,
) -> Iterator[dict[str, Any]]:
    """One seed per stored lead of the workspace, with its recent signals."""
    captured: dict[str, list[dict[str, Any]]] = {}
    companies: dict[str, Any] = {}
    rows = conn.execute(CAPTURES, (workspace_id, now - MAX_WINDOW))
    for row in rows.fetchall():
        lead_id, capture_id, occurred_at, *facts, context, company = row
        signal_type, source, event_name, bucket = facts
        captured.setdefault(lead_id, []).append(
            {
                "capture_id": capture_id,
                "occurred_at": micros(occurred_at),
                "signal_type": signal_type,
                "source": source,
                "event_name": event_name,
                "bucket": bucket,
                "context": context,
            }
        )
        if company:
            companies[lead_id] = company

    names = ("lead_id", "kind", *IDENTITY_FIELDS, *LEAD_FIELDS)
    for row in conn.execute(LEADS, (workspace_id,)).fetchall():
        lead = {k: v for k, v in zip(names, row, strict=True) if v is not None}
        lead_id = lead["lead_id"]
        yield {
            "kind": "seed",
            "workspace_id": workspace_id,
            "lead_id": lead_id,
            "lead": lead,
            "company": companies.get(lead_id),
            "signals": captured.get(lead_id, [])[-max_signals:],
            "cause": cause,
        }


def lead_producer(bootstrap_servers: str) -> Producer:
    """A producer that partitions by lead id exactly as the Faust agents do.

    Faust (aiokafka) hashes keys with murmur2; librdkafka's default does not, and a
    lead split over two partitions would have two deciders.
    """
    return Producer(
        {
            "bootstrap.servers": bootstrap_servers,
            "enable.idempotence": True,
            "acks": "all",
            "partitioner": "murmur2_random",
        }
    )
