"""From a raw signal to its record, its reply and its webhook: the pure core.

Nothing here touches Kafka, so every step of a signal's life after the gateway can be
tested in milliseconds and reasoned about without a broker.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from schemas import keys
from schemas.identity import CanonicalIdentity, canonicalize, work_email_domain
from schemas.instant import format_instant
from schemas.workspace import type_settings
from stream_processors.qualify import bucket_of, qualify_lead

CompanyLookup = Callable[[str], dict[str, Any] | None]
WEBHOOK_EVENT = "signal.qualified"


@dataclass(frozen=True)
class Outcome:
    """Everything one first capture sends onward."""

    record: dict[str, Any]
    reply: dict[str, Any]
    webhook: dict[str, Any] | None


def company_domain(identity: CanonicalIdentity) -> str | None:
    """The company a signal speaks of: the stated domain, else a work email's."""
    if identity.company_domain:
        return identity.company_domain
    if identity.email:
        return work_email_domain(identity.email)
    return None


def process_signal(
    raw: dict[str, Any],
    workspace: dict[str, Any],
    companies: CompanyLookup,
    now: datetime,
) -> Outcome:
    """Normalize, enrich, bucket and qualify one raw signal."""
    canonical = canonicalize(raw["identity"])
    lead_id, lead_kind = keys.lead_id(raw["workspace_id"], canonical)
    domain = company_domain(canonical)
    company = companies(domain) if domain else None

    context = json.loads(raw["context_json"]) if raw.get("context_json") else None
    settings = type_settings(workspace, raw["signal_type"])
    sub_rules = settings.sub_rules if settings else []
    bucket = bucket_of(sub_rules, raw.get("event_name"), context)

    autoqualify = settings.autoqualify if settings else False
    qualification = None
    if autoqualify:
        qualification = qualify_lead(
            workspace.get("qualification_rules_json"),
            company=company,
            identity=_identity_fields(canonical),
            context=context,
        )

    record = _record(raw, canonical, lead_id, lead_kind, company, bucket, now)
    record["qualification"] = qualification
    reply = reply_for(raw["capture_id"], raw["workspace_id"], lead_id, qualification)
    webhook = webhook_for(record, workspace, now)
    return Outcome(record, reply, webhook)


def reply_for(
    capture_id: str,
    workspace_id: str,
    matched_record_id: str | None,
    qualification: dict[str, Any] | None,
    status: str = "captured",
    detail: str | None = None,
) -> dict[str, Any]:
    return {
        "capture_id": capture_id,
        "workspace_id": workspace_id,
        "matched_record_id": matched_record_id,
        "status": status,
        "qualification": qualification,
        "detail": detail,
    }


def webhook_for(
    record: dict[str, Any], workspace: dict[str, Any], now: datetime
) -> dict[str, Any] | None:
    """The announcement of a capture, when the workspace listens for them."""
    endpoint = workspace.get("webhook")
    if not endpoint or not endpoint.get("enabled", True):
        return None

    payload = {
        "type": WEBHOOK_EVENT,
        "timestamp": format_instant(now),
        "data": {
            "workspace_id": record["workspace_id"],
            "signal_capture_id": record["capture_id"],
            "matched_record_id": record["lead_id"],
            "lead_kind": record["lead_kind"],
            "signal_type": record["signal_type"],
            "source": record["source"],
            "event_name": record["event_name"],
            "occurred_at": format_instant(record["occurred_at"]),
            "identity": record["identity_normalized"],
            "bucket": record["bucket"],
            "qualification": record["qualification"],
        },
    }
    return {
        "webhook_id": f"msg_{record['capture_id']}",
        "workspace_id": record["workspace_id"],
        "capture_id": record["capture_id"],
        "event_type": WEBHOOK_EVENT,
        "created_at": now,
        "payload_json": json.dumps(payload, ensure_ascii=False, allow_nan=False),
    }


def _identity_fields(identity: CanonicalIdentity) -> dict[str, str | None]:
    return {
        "email": identity.email,
        "linkedin_url": identity.linkedin_url,
        "company_domain": identity.company_domain,
        "first_name": identity.first_name,
        "last_name": identity.last_name,
        "title": identity.title,
    }


def _record(
    raw: dict[str, Any],
    canonical: CanonicalIdentity,
    lead_id: str,
    lead_kind: str,
    company: dict[str, Any] | None,
    bucket: str | None,
    now: datetime,
) -> dict[str, Any]:
    return {
        "capture_id": raw["capture_id"],
        "workspace_id": raw["workspace_id"],
        "lead_id": lead_id,
        "lead_kind": lead_kind,
        "dedupe_key": raw["dedupe_key"],
        "signal_type": raw["signal_type"],
        "source": raw["source"],
        "event_name": raw.get("event_name"),
        "occurred_at": raw["occurred_at"],
        "received_at": raw["received_at"],
        "processed_at": now,
        "identity": raw["identity"],
        "identity_normalized": _identity_fields(canonical),
        "context_json": raw.get("context_json"),
        "bucket": bucket,
        "company": company,
        "qualification": None,
        "idempotency_key": raw.get("idempotency_key"),
    }
