"""Batched, idempotent writes of signal records into PostgreSQL."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import psycopg

from sinks.records.matching import resolve_leads, save_aliases

CAPTURE_COLUMNS = (
    "capture_id",
    "workspace_id",
    "lead_id",
    "dedupe_key",
    "signal_type",
    "source",
    "event_name",
    "occurred_at",
    "received_at",
    "processed_at",
    "identity",
    "identity_normalized",
    "context",
    "bucket",
    "company",
    "qualification",
    "icp_code",
    "icp_score",
    "persona_code",
    "persona_score",
    "rules_version",
    "idempotency_key",
)
_CAPTURE_LIST = ", ".join(CAPTURE_COLUMNS)

# Captures go through a per-connection staging table: COPY is several times faster
# than row-by-row INSERT, and the final INSERT ... SELECT keeps ON CONFLICT, so a
# replay stays a no-op. ON COMMIT DELETE ROWS empties it after every batch.
STAGE_CAPTURES = """
CREATE TEMP TABLE IF NOT EXISTS capture_stage
    (LIKE signal_captures INCLUDING DEFAULTS) ON COMMIT DELETE ROWS
"""
COPY_CAPTURES = f"COPY capture_stage ({_CAPTURE_LIST}) FROM STDIN"
# Built from the fixed column tuple above, never from input.
_INTO = f"INSERT INTO signal_captures ({_CAPTURE_LIST})"
_FROM = f"SELECT {_CAPTURE_LIST} FROM capture_stage ORDER BY capture_id"  # noqa: S608
MOVE_CAPTURES = f"{_INTO} {_FROM} ON CONFLICT DO NOTHING"

# A row wins when its activity is later, ties broken by capture id, so the result
# is the same whatever order batches and records within them arrive in.
_UPSERT_LEAD_TEMPLATE = """
INSERT INTO leads AS l (
    lead_id, workspace_id, kind, email, email_normalized, linkedin_url,
    company_domain, first_name, last_name, title, first_seen_at,
    last_activity_at, last_capture_id, icp_code, icp_score, persona_code,
    persona_score, qualified_at
) VALUES (
    %(lead_id)s, %(workspace_id)s, %(kind)s, %(email)s, %(email_normalized)s,
    %(linkedin_url)s, %(company_domain)s, %(first_name)s, %(last_name)s,
    %(title)s, %(first_seen_at)s, %(last_activity_at)s, %(last_capture_id)s,
    %(icp_code)s, %(icp_score)s, %(persona_code)s, %(persona_score)s,
    %(qualified_at)s
)
ON CONFLICT (lead_id) DO UPDATE SET
    first_seen_at = LEAST(l.first_seen_at, EXCLUDED.first_seen_at),
    last_activity_at = GREATEST(l.last_activity_at, EXCLUDED.last_activity_at),
    last_capture_id = CASE WHEN newer THEN EXCLUDED.last_capture_id
        ELSE l.last_capture_id END,
    kind = CASE WHEN newer THEN EXCLUDED.kind ELSE l.kind END,
    email = CASE WHEN newer THEN COALESCE(EXCLUDED.email, l.email)
        ELSE COALESCE(l.email, EXCLUDED.email) END,
    email_normalized = CASE WHEN newer
        THEN COALESCE(EXCLUDED.email_normalized, l.email_normalized)
        ELSE COALESCE(l.email_normalized, EXCLUDED.email_normalized) END,
    linkedin_url = CASE WHEN newer
        THEN COALESCE(EXCLUDED.linkedin_url, l.linkedin_url)
        ELSE COALESCE(l.linkedin_url, EXCLUDED.linkedin_url) END,
    company_domain = CASE WHEN newer
        THEN COALESCE(EXCLUDED.company_domain, l.company_domain)
        ELSE COALESCE(l.company_domain, EXCLUDED.company_domain) END,
    first_name = CASE WHEN newer THEN COALESCE(EXCLUDED.first_name, l.first_name)
        ELSE COALESCE(l.first_name, EXCLUDED.first_name) END,
    last_name = CASE WHEN newer THEN COALESCE(EXCLUDED.last_name, l.last_name)
        ELSE COALESCE(l.last_name, EXCLUDED.last_name) END,
    title = CASE WHEN newer THEN COALESCE(EXCLUDED.title, l.title)
        ELSE COALESCE(l.title, EXCLUDED.title) END,
    icp_code = CASE WHEN requalified THEN EXCLUDED.icp_code ELSE l.icp_code END,
    icp_score = CASE WHEN requalified THEN EXCLUDED.icp_score ELSE l.icp_score END,
    persona_code = CASE WHEN requalified THEN EXCLUDED.persona_code
        ELSE l.persona_code END,
    persona_score = CASE WHEN requalified THEN EXCLUDED.persona_score
        ELSE l.persona_score END,
    qualified_at = CASE WHEN requalified THEN EXCLUDED.qualified_at
        ELSE l.qualified_at END,
    updated_at = now()
"""

NEWER = (
    "((EXCLUDED.last_activity_at, EXCLUDED.last_capture_id)"
    " > (l.last_activity_at, l.last_capture_id))"
)
REQUALIFIED = (
    "(EXCLUDED.qualified_at IS NOT NULL AND (l.qualified_at IS NULL"
    " OR EXCLUDED.qualified_at >= l.qualified_at))"
)
UPSERT_LEAD = _UPSERT_LEAD_TEMPLATE.replace("WHEN newer", "WHEN " + NEWER).replace(
    "WHEN requalified", "WHEN " + REQUALIFIED
)

UPSERT_COMPANY = """
INSERT INTO companies (
    domain, name, industry, employees, country, region, technologies,
    funding_total_usd, directory_source
) VALUES (
    %(domain)s, %(name)s, %(industry)s, %(employees)s, %(country)s, %(region)s,
    %(technologies)s::jsonb, %(funding_total_usd)s, %(directory_source)s
)
ON CONFLICT (domain) DO UPDATE SET
    name = EXCLUDED.name, industry = EXCLUDED.industry,
    employees = EXCLUDED.employees, country = EXCLUDED.country,
    region = EXCLUDED.region, technologies = EXCLUDED.technologies,
    funding_total_usd = EXCLUDED.funding_total_usd,
    directory_source = EXCLUDED.directory_source, updated_at = now()
"""


@dataclass(frozen=True)
class UpsertResult:
    """What one batch changed: new captures, replays skipped, leads touched."""

    captures_inserted: int
    captures_skipped: int
    leads_upserted: int


def upsert_records(
    conn: psycopg.Connection[Any], records: Sequence[dict[str, Any]]
) -> UpsertResult:
    """Store a batch of decoded records in one transaction.

    Person records are first attached to the lead that already holds their email
    or LinkedIn profile (see ``matching``). Duplicates are removed before any
    statement runs: PostgreSQL refuses an
    ``ON CONFLICT DO UPDATE`` that touches the same row twice (SQLSTATE 21000),
    and a replayed record inside one batch is normal, not an error.
    """
    if not records:
        return UpsertResult(0, 0, 0)

    unique = list({r["capture_id"]: r for r in records}.values())
    companies = {
        r["company"]["domain"]: r["company"] for r in unique if r.get("company")
    }
    company_rows = [_company_row(companies[k]) for k in sorted(companies)]

    with conn.transaction(), conn.cursor() as cursor:
        resolution = resolve_leads(cursor, unique)
        captures = [
            {**r, "lead_id": resolution.lead_of_capture[r["capture_id"]]}
            for r in unique
        ]
        leads = _latest_per_lead(captures)
        capture_rows = sorted(
            (_capture_row(r) for r in captures), key=_by("capture_id")
        )
        lead_rows = [leads[k] for k in sorted(leads)]

        inserted = _insert_captures(cursor, capture_rows)
        cursor.executemany(UPSERT_LEAD.encode(), lead_rows)
        save_aliases(cursor, resolution)
        if company_rows:
            cursor.executemany(UPSERT_COMPANY, company_rows)

    return UpsertResult(inserted, len(capture_rows) - inserted, len(lead_rows))


def _insert_captures(
    cursor: psycopg.Cursor[Any], capture_rows: list[dict[str, Any]]
) -> int:
    """COPY the rows into the staging table, then move the new ones; count them."""
    cursor.execute(STAGE_CAPTURES)
    with cursor.copy(COPY_CAPTURES) as copy:
        for row in capture_rows:
            copy.write_row([row[column] for column in CAPTURE_COLUMNS])
    cursor.execute(MOVE_CAPTURES)
    return max(cursor.rowcount, 0)


def _by(field: str) -> Any:
    return lambda row: row[field]


def _json(value: Any) -> str | None:
    return None if value is None else json.dumps(value, ensure_ascii=False)


def _capture_row(record: dict[str, Any]) -> dict[str, Any]:
    """Columns of one capture; the context goes in as the caller's exact JSON text."""
    qualification = record.get("qualification") or {}
    return {
        **{k: record.get(k) for k in _CAPTURE_FIELDS},
        "identity": _json(record["identity"]),
        "identity_normalized": _json(record["identity_normalized"]),
        "context": record.get("context_json"),
        "company": _json(record.get("company")),
        "qualification": _json(record.get("qualification")),
        "icp_code": qualification.get("icp_code"),
        "icp_score": qualification.get("icp_score"),
        "persona_code": qualification.get("persona_code"),
        "persona_score": qualification.get("persona_score"),
        "rules_version": qualification.get("rules_version"),
    }


_CAPTURE_FIELDS = (
    "capture_id",
    "workspace_id",
    "lead_id",
    "dedupe_key",
    "signal_type",
    "source",
    "event_name",
    "occurred_at",
    "received_at",
    "processed_at",
    "bucket",
    "idempotency_key",
)


def _activity(record: dict[str, Any]) -> tuple[datetime, str]:
    return record["occurred_at"], record["capture_id"]


def _latest_per_lead(records: Sequence[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """One lead row per lead, folded with the same rule the SQL applies."""
    rows: dict[str, dict[str, Any]] = {}
    for record in sorted(records, key=_activity):
        row = _lead_row(record)
        previous = rows.get(record["lead_id"])
        if previous is not None:
            row["first_seen_at"] = previous["first_seen_at"]
            for field in _IDENTITY_COLUMNS:
                if row[field] is None:
                    row[field] = previous[field]
            if row["qualified_at"] is None:
                for field in _QUALIFICATION_COLUMNS:
                    row[field] = previous[field]
        rows[record["lead_id"]] = row
    return rows


_IDENTITY_COLUMNS = (
    "email",
    "email_normalized",
    "linkedin_url",
    "company_domain",
    "first_name",
    "last_name",
    "title",
)
_QUALIFICATION_COLUMNS = (
    "icp_code",
    "icp_score",
    "persona_code",
    "persona_score",
    "qualified_at",
)


def _lead_row(record: dict[str, Any]) -> dict[str, Any]:
    """The lead as this one record sees it."""
    identity = record["identity"]
    normalized = record["identity_normalized"]
    qualification = record.get("qualification")
    return {
        "lead_id": record["lead_id"],
        "workspace_id": record["workspace_id"],
        "kind": record["lead_kind"],
        "email": identity.get("email"),
        "email_normalized": normalized.get("email"),
        "linkedin_url": normalized.get("linkedin_url"),
        "company_domain": normalized.get("company_domain"),
        "first_name": identity.get("first_name"),
        "last_name": identity.get("last_name"),
        "title": identity.get("title"),
        "first_seen_at": record["occurred_at"],
        "last_activity_at": record["occurred_at"],
        "last_capture_id": record["capture_id"],
        "icp_code": qualification and qualification.get("icp_code"),
        "icp_score": qualification and qualification.get("icp_score"),
        "persona_code": qualification and qualification.get("persona_code"),
        "persona_score": qualification and qualification.get("persona_score"),
        "qualified_at": record["occurred_at"] if qualification else None,
    }


def _company_row(company: dict[str, Any]) -> dict[str, Any]:
    return {
        **company,
        "technologies": json.dumps(company.get("technologies") or []),
    }
