"""Segment messages (track, page, identify, group) as signals.

Segment identifies people by its own userId and anonymousId, which the Signals API
cannot match to a record. A message becomes a signal only when it also carries an
email (traits, context.traits, the Signed Up properties, or an email-shaped userId)
or, for group calls, the company website. Anonymous page views and spec examples
that carry only a userId therefore map to nothing; that is expected, not an error.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any, Final

import structlog

from ingest_gateway.vendors._common import (
    as_mapping,
    email_or_none,
    first_time,
    make_identity,
    make_key,
    make_signal,
    pick,
    split_name,
    text_or_none,
)

SOURCE: Final = "segment"
# alias and delete are identity bookkeeping (delete is a GDPR erasure request).
CALLS: Final = frozenset({"track", "page", "screen", "identify", "group"})
_ALL_CALLS: Final = CALLS | {"alias", "delete"}

# Segment Spec event names (B2B SaaS, email, live chat) and the common names
# customers use for sales intent. Anything else is a custom_event named after it.
TRACK_TYPES: Final = {
    "demo requested": "demo_request",
    "demo request": "demo_request",
    "contact sales": "contact_sales",
    "sales contacted": "contact_sales",
    "live chat conversation started": "contact_sales",
    "form submitted": "form_submit",
    "signed up": "signup",
    "user registered": "signup",
    "registered": "signup",
    "account created": "signup",
    "trial started": "trial_started",
    "invite sent": "teammate_invited",
    "email opened": "email_engagement",
    "email link clicked": "email_engagement",
    "webinar registered": "webinar_registration",
    "webinar attended": "webinar_attended",
    "meeting booked": "meeting_booked",
    "content downloaded": "content_download",
    "ebook downloaded": "content_download",
    "plan upgraded": "plan_upgraded",
    "subscription upgraded": "plan_upgraded",
    "integration connected": "integration_connected",
    "sso enabled": "sso_enabled",
}
# Sender-side email facts say nothing about the recipient's intent.
SKIPPED_TRACKS: Final = frozenset({"email delivered", "email sent"})
_PRICING_PATH = re.compile(r"(^|/)pricing(/|$|\?)", re.I)

log = structlog.get_logger(__name__)


def looks_like(payload: Mapping[str, Any]) -> bool:
    """Whether the object is a Segment message (a call type plus Segment's ids)."""
    call = payload.get("type", payload.get("action"))
    if call not in _ALL_CALLS:
        return False
    markers = ("messageId", "userId", "anonymousId", "user_id", "traits", "event")
    return any(marker in payload for marker in (*markers, "properties"))


def to_signals(
    payload: Mapping[str, Any], *, received_at: datetime | None = None
) -> list[dict[str, Any]]:
    """Map one Segment message to at most one signal body.

    `received_at` stands in for the event time when the message has none (the
    Spec examples omit it); without either the message is skipped, because a
    made-up time would break the API's idempotency on (identity, occurred_at).
    """
    call = payload.get("type", payload.get("action"))
    if call not in CALLS:
        return _skip(call, "not_an_intent_call")

    signal_type, event_name = _classify(call, payload)
    if signal_type is None:
        return _skip(call, "sender_side_event")

    identity = _identity(call, payload)
    if identity is None:
        return _skip(call, "no_identity")

    occurred_at = first_time(
        payload.get("timestamp"),
        payload.get("originalTimestamp"),
        payload.get("sentAt"),
        payload.get("receivedAt"),
        received_at,
    )
    if occurred_at is None:
        return _skip(call, "no_timestamp")

    # The person joins the key: Segment promises unique messageIds, but sources
    # that set their own (and the Spec examples) reuse them across people.
    person = payload.get("userId") or payload.get("anonymousId") or "-"
    key = make_key(SOURCE, call, person, payload.get("messageId"))
    return [
        make_signal(
            signal_type=signal_type,
            source=SOURCE,
            occurred_at=occurred_at,
            identity=identity,
            event_name=event_name,
            context=_context(call, payload),
            idempotency_key=key,
        )
    ]


def _skip(call: Any, reason: str) -> list[dict[str, Any]]:
    log.debug("vendor_payload_skipped", vendor=SOURCE, call=str(call), reason=reason)
    return []


def _classify(call: str, payload: Mapping[str, Any]) -> tuple[str | None, str | None]:
    if call == "page":
        path = _page_path(payload)
        page_type = "pricing_page_visit" if _PRICING_PATH.search(path) else None
        return page_type or "website_visit", text_or_none(payload.get("name"))
    if call in ("identify", "group", "screen"):
        return "custom_event", _screen_or_call(call, payload)

    event = text_or_none(payload.get("event"))
    if event is None:
        return "custom_event", "track"
    folded = " ".join(event.replace("_", " ").lower().split())
    if folded in SKIPPED_TRACKS:
        return None, event
    return TRACK_TYPES.get(folded, "custom_event"), event


def _screen_or_call(call: str, payload: Mapping[str, Any]) -> str:
    name = text_or_none(payload.get("name")) if call == "screen" else None
    return "screen: " + name if name else call


def _page_path(payload: Mapping[str, Any]) -> str:
    properties = as_mapping(payload.get("properties"))
    page = as_mapping(as_mapping(payload.get("context")).get("page"))
    for candidate in (properties.get("path"), page.get("path")):
        if isinstance(candidate, str) and candidate:
            return candidate
    url = properties.get("url") or page.get("url")
    return url if isinstance(url, str) else ""


def _identity(call: str, payload: Mapping[str, Any]) -> dict[str, str] | None:
    if call == "group":
        traits = as_mapping(payload.get("traits"))
        website = traits.get("website") or traits.get("domain")
        return make_identity(company_domain=website)

    person = _person_traits(call, payload)
    first, last = person.get("first_name"), person.get("last_name")
    if first is None and last is None:
        first, last = split_name(person.get("name"))
    company = as_mapping(person.get("company"))
    identity = make_identity(
        email=person.get("email"),
        company_domain=company.get("website") or company.get("domain"),
        first_name=first,
        last_name=last,
        title=person.get("title"),
    )
    if identity is None and call == "track":
        return _invitee_company(payload)
    return identity


def _person_traits(call: str, payload: Mapping[str, Any]) -> dict[str, Any]:
    """Traits of the acting person, merged from every place Segment puts them."""
    context_traits = as_mapping(as_mapping(payload.get("context")).get("traits"))
    merged: dict[str, Any] = {}
    merged.update(_normalized(context_traits))
    if call == "identify":
        merged.update(_normalized(as_mapping(payload.get("traits"))))
    if str(payload.get("event", "")).lower() == "signed up":
        properties = _normalized(as_mapping(payload.get("properties")))
        # The Spec's Signed Up example puts "Mr" in properties.title: a salutation.
        properties.pop("title", None)
        merged.update({k: v for k, v in properties.items() if k not in merged})

    if "email" not in merged:
        for candidate in (payload.get("userId"), payload.get("user_id")):
            if email_or_none(candidate):
                merged["email"] = candidate
    return merged


def _normalized(traits: Mapping[str, Any]) -> dict[str, Any]:
    aliases = {"firstName": "first_name", "lastName": "last_name"}
    return {aliases.get(k, k): v for k, v in traits.items() if v is not None}


def _invitee_company(payload: Mapping[str, Any]) -> dict[str, str] | None:
    """For Invite Sent without the inviter's email: the account's domain.

    The invitee joins the inviter's account, so the domain of the invitee's email
    names the company even when the inviter is known only by a Segment userId.
    """
    if str(payload.get("event", "")).lower() != "invite sent":
        return None
    invitee = email_or_none(as_mapping(payload.get("properties")).get("invitee_email"))
    if invitee is None:
        return None
    return make_identity(company_domain=invitee.rsplit("@", 1)[1])


def _context(call: str, payload: Mapping[str, Any]) -> dict[str, Any]:
    context = as_mapping(payload.get("context"))
    properties = dict(as_mapping(payload.get("properties")))
    for personal in ("email", "first_name", "last_name", "phone", "invitee_email"):
        properties.pop(personal, None)

    result: dict[str, Any] = {
        "call": call,
        "user_id": payload.get("userId", payload.get("user_id")),
        "anonymous_id": payload.get("anonymousId"),
        "group_id": payload.get("groupId", context.get("groupId")),
        "properties": properties,
        "page": pick(context.get("page"), "url", "path", "referrer", "title"),
        "campaign": context.get("campaign"),
        "ip": context.get("ip"),
        "timezone": context.get("timezone"),
        "locale": context.get("locale"),
    }
    if call in ("identify", "group"):
        traits = as_mapping(payload.get("traits"))
        skip = {"email", "name", "first_name", "last_name", "firstName", "lastName"}
        kept = {k: v for k, v in traits.items() if call == "group" or k not in skip}
        result["traits"] = kept
    return result
