"""Lead matching in the records sink, read back through the gateway's query."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import psycopg
import pytest

from ingest_gateway.store import CaptureStore
from schemas import keys
from schemas.identity import canonicalize
from sinks.records.migrate import migrate
from sinks.records.store import upsert_records
from tests.integration.sinks.conftest import BASE_TIME, make_record

pytestmark = pytest.mark.asyncio(loop_scope="session")

EMAIL = "Jane.Doe@example.com"
PROFILE = "https://www.linkedin.com/in/jane-doe-example"


def _signal(workspace: str, minute: int, **identity: str) -> dict[str, Any]:
    """A record whose lead id is derived exactly as the processor derives it."""
    canonical = canonicalize(identity)
    lead_id, kind = keys.lead_id(workspace, canonical)
    record = make_record(
        workspace, lead_id, occurred_at=BASE_TIME + timedelta(minutes=minute)
    )
    record["lead_kind"] = kind
    record["identity"] = {**dict.fromkeys(record["identity"]), **identity}
    record["identity_normalized"] = {
        **dict.fromkeys(record["identity"]),
        "email": canonical.email,
        "linkedin_url": canonical.linkedin_url,
        "company_domain": canonical.company_domain,
    }
    return record


async def test_one_person_keeps_one_record_id_and_gateway_reports_it(
    database_url: str,
) -> None:
    """Email+LinkedIn, then LinkedIn only, then email only: one lead, one alias."""
    migrate(database_url)
    workspace = f"ws-{uuid.uuid4().hex[:8]}"
    both = _signal(workspace, 0, email=EMAIL, linkedin_url=PROFILE)
    profile_only = _signal(workspace, 1, linkedin_url=PROFILE)
    email_only = _signal(workspace, 2, email=EMAIL)
    company_only = _signal(workspace, 3, company_domain="example.com")
    assert profile_only["lead_id"] != both["lead_id"]

    with psycopg.connect(database_url, autocommit=True) as conn:
        for record in (both, profile_only, email_only, company_only):
            upsert_records(conn, [record])
        aliases = conn.execute(
            "SELECT alias_lead_id, lead_id FROM lead_aliases WHERE workspace_id = %s",
            (workspace,),
        ).fetchall()
        kinds = conn.execute(
            "SELECT kind, count(*) FROM leads WHERE workspace_id = %s GROUP BY kind"
            " ORDER BY kind",
            (workspace,),
        ).fetchall()

    store = CaptureStore(database_url)
    await store.open()
    try:
        answers = [
            await store.capture(workspace, r["capture_id"])
            for r in (both, profile_only, email_only, company_only)
        ]
    finally:
        await store.close()

    matched = [a["matched_record_id"] for a in answers if a is not None]
    assert matched == [both["lead_id"]] * 3 + [company_only["lead_id"]]
    assert aliases == [(profile_only["lead_id"], both["lead_id"])]
    assert kinds == [("account", 1), ("person", 1)]


async def test_profile_first_then_email_lead_merges_and_old_captures_follow(
    database_url: str,
) -> None:
    """Profile-only and email-only leads bridged by one signal report one id after."""
    migrate(database_url)
    workspace = f"ws-{uuid.uuid4().hex[:8]}"
    profile_only = _signal(workspace, 0, linkedin_url=PROFILE)
    email_only = _signal(workspace, 1, email=EMAIL)
    bridge = _signal(workspace, 2, email=EMAIL, linkedin_url=PROFILE)

    with psycopg.connect(database_url, autocommit=True) as conn:
        upsert_records(conn, [profile_only])
        upsert_records(conn, [email_only])
        upsert_records(conn, [bridge])

    store = CaptureStore(database_url)
    await store.open()
    try:
        answers = [
            await store.capture(workspace, r["capture_id"])
            for r in (profile_only, email_only, bridge)
        ]
    finally:
        await store.close()

    matched = {a["matched_record_id"] for a in answers if a is not None}
    assert matched == {email_only["lead_id"]}
