"""Pipedrive person webhooks as signals.

Reads the v1 body (`meta.object`, `meta.action`, `current`) and the v2 body
(`meta.entity`, `data`). Only person objects carry an email; deals, activities
and organizations (which have no domain field by default) map to nothing, as do
deletions, which are record keeping rather than intent.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any, Final

import structlog

from ingest_gateway.vendors._common import (
    as_mapping,
    first_time,
    make_identity,
    make_key,
    make_signal,
    mappings,
    split_name,
)

SOURCE: Final = "pipedrive"
_ACTION_NAMES: Final = {
    "added": "person_added",
    "create": "person_added",
    "updated": "person_updated",
    "change": "person_updated",
    "merged": "person_merged",
}

log = structlog.get_logger(__name__)


def looks_like(payload: Mapping[str, Any]) -> bool:
    """Whether the object is a Pipedrive webhook body (meta plus the object)."""
    meta = as_mapping(payload.get("meta"))
    has_object = "object" in meta or "entity" in meta
    return (
        has_object and "action" in meta and ("current" in payload or "data" in payload)
    )


def to_signals(
    payload: Mapping[str, Any], *, received_at: datetime | None = None
) -> list[dict[str, Any]]:
    """Map one webhook: a person added or updated becomes a custom_event."""
    meta = as_mapping(payload.get("meta"))
    entity = meta.get("object") or meta.get("entity")
    event_name = _ACTION_NAMES.get(str(meta.get("action")))
    person = as_mapping(payload.get("current") or payload.get("data"))
    if entity != "person" or event_name is None or not person:
        return _skip("not_a_person_change")

    identity = _identity(person)
    if identity is None:
        return _skip("no_identity")

    occurred_at = first_time(
        meta.get("timestamp"), person.get("update_time"), received_at
    )
    if occurred_at is None:
        return _skip("no_timestamp")

    stamp = meta.get("timestamp_micro") or meta.get("timestamp")
    organization = as_mapping(person.get("org_id"))
    context = {
        "person_id": person.get("id"),
        "organization": person.get("org_name") or organization.get("name"),
        "organization_people": organization.get("people_count"),
        "owner": person.get("owner_name"),
        "open_deals": person.get("open_deals_count"),
        "won_deals": person.get("won_deals_count"),
        "host": meta.get("host"),
    }
    return [
        make_signal(
            signal_type="custom_event",
            source=SOURCE,
            occurred_at=occurred_at,
            identity=identity,
            event_name=event_name,
            context=context,
            idempotency_key=make_key(SOURCE, event_name, person.get("id"), stamp),
        )
    ]


def _skip(reason: str) -> list[dict[str, Any]]:
    log.debug("vendor_payload_skipped", vendor=SOURCE, reason=reason)
    return []


def _identity(person: Mapping[str, Any]) -> dict[str, str] | None:
    addresses = list(mappings(person.get("email") or person.get("emails")))
    primary = [item for item in addresses if item.get("primary")] or addresses
    email = primary[0].get("value") if primary else None

    first, last = person.get("first_name"), person.get("last_name")
    if not first and not last:
        first, last = split_name(person.get("name"))
    return make_identity(email=email, first_name=first, last_name=last)
