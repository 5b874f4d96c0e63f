"""Calendly webhook deliveries (invitee.created, invitee.canceled) as signals.

Both the v1 body (`event` + `payload` with `tracking`) and the v2 body (`payload`
with `first_name`, `scheduled_event`, `cancellation`) are read. When the delivery
omits the event name, the invitee's `status` tells a booking from a cancellation.
The cancel and reschedule URLs are capability links (anyone holding one can
cancel the meeting), so they never go into the context.
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
    pick,
    split_name,
    text_or_none,
)

SOURCE: Final = "calendly"
BOOKED: Final = "invitee.created"
CANCELED: Final = "invitee.canceled"
_UTM_KEYS: Final = (
    "utm_campaign",
    "utm_source",
    "utm_medium",
    "utm_content",
    "utm_term",
)

log = structlog.get_logger(__name__)


def looks_like(payload: Mapping[str, Any]) -> bool:
    """Whether the object is a Calendly delivery (an invitee under `payload`)."""
    event = payload.get("event")
    if isinstance(event, str) and event.startswith(("invitee.", "invitee_no_show.")):
        return True
    inner = as_mapping(payload.get("payload"))
    uri = inner.get("uri")
    return isinstance(uri, str) and "calendly.com" in uri and "/invitees/" in uri


def to_signals(
    payload: Mapping[str, Any], *, received_at: datetime | None = None
) -> list[dict[str, Any]]:
    """Map one delivery: a booking is meeting_booked, anything else a custom_event."""
    invitee = as_mapping(payload.get("payload"))
    event = _event_name(payload, invitee)

    identity = _identity(invitee)
    if identity is None:
        return _skip(event, "no_identity")

    cancellation = as_mapping(invitee.get("cancellation"))
    occurred_at = (
        first_time(invitee.get("created_at"), payload.get("created_at"), received_at)
        if event == BOOKED
        else first_time(
            cancellation.get("created_at"),
            invitee.get("updated_at"),
            payload.get("created_at"),
            received_at,
        )
    )
    if occurred_at is None:
        return _skip(event, "no_timestamp")

    booked = event == BOOKED
    return [
        make_signal(
            signal_type="meeting_booked" if booked else "custom_event",
            source=SOURCE,
            occurred_at=occurred_at,
            identity=identity,
            event_name=_scheduled_name(invitee) if booked else _custom_name(event),
            context=_context(invitee, cancellation),
            idempotency_key=make_key(SOURCE, event, invitee.get("uri")),
        )
    ]


def _skip(event: str, reason: str) -> list[dict[str, Any]]:
    log.debug(
        "vendor_payload_skipped", vendor=SOURCE, vendor_event=event, reason=reason
    )
    return []


def _event_name(payload: Mapping[str, Any], invitee: Mapping[str, Any]) -> str:
    event = payload.get("event")
    if isinstance(event, str) and event:
        return event
    return CANCELED if invitee.get("status") == "canceled" else BOOKED


def _custom_name(event: str) -> str:
    return {CANCELED: "meeting_canceled"}.get(event, event.replace(".", "_"))


def _scheduled_name(invitee: Mapping[str, Any]) -> str | None:
    return text_or_none(as_mapping(invitee.get("scheduled_event")).get("name"))


def _identity(invitee: Mapping[str, Any]) -> dict[str, str] | None:
    first, last = invitee.get("first_name"), invitee.get("last_name")
    if not first and not last:
        first, last = split_name(invitee.get("name"))
    return make_identity(email=invitee.get("email"), first_name=first, last_name=last)


def _context(
    invitee: Mapping[str, Any], cancellation: Mapping[str, Any]
) -> dict[str, Any]:
    tracking = as_mapping(invitee.get("tracking"))
    answers = [
        pick(item, "question", "answer")
        for item in mappings(invitee.get("questions_and_answers"))
    ]
    scheduled = as_mapping(invitee.get("scheduled_event"))
    return {
        "scheduled_event": invitee.get("event") or scheduled.get("uri"),
        "start_time": scheduled.get("start_time"),
        "timezone": invitee.get("timezone"),
        "rescheduled": invitee.get("rescheduled") or None,
        "utm": pick(tracking, *_UTM_KEYS),
        "questions_and_answers": answers,
        "cancel_reason": cancellation.get("reason"),
        "canceled_by": cancellation.get("canceler_type"),
    }
