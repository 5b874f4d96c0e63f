"""HubSpot payloads as signals: form submissions, contacts, companies, email events.

HubSpot reaches us in several shapes, and each is recognised by its own fields:
webhook events (`subscriptionType`), v1 contacts (`vid`, `identity-profiles`,
`form-submissions`), v2 companies (`companyId`), CRM v3 objects (`id`,
`properties`, `createdAt`), form submissions (`conversionId`) and email events
(`emailCampaignId`). Webhook events carry object ids only, so apart from a
property change that names an email or a domain they map to nothing until a
lookup against the HubSpot API is added; that lookup needs a portal token and
does not belong in a pure mapping.
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
    mappings,
    pick,
    text_or_none,
)

SOURCE: Final = "hubspot"
ENGAGEMENT_EMAIL_EVENTS: Final = frozenset(
    {"OPEN", "CLICK", "FORWARD", "PRINT", "REPLY"}
)
OTHER_EMAIL_EVENTS: Final = frozenset({"BOUNCE", "SPAMREPORT", "STATUSCHANGE"})
CONTACT_KEYS: Final = (
    "company",
    "lifecyclestage",
    "hs_lead_status",
    "industry",
    "numemployees",
    "city",
    "country",
    "hs_analytics_source",
)
COMPANY_KEYS: Final = (
    "name",
    "industry",
    "numberofemployees",
    "annualrevenue",
    "city",
    "country",
    "lifecyclestage",
    "hs_analytics_source",
    "hs_analytics_num_visits",
    "hs_analytics_num_page_views",
    "num_associated_contacts",
    "num_associated_deals",
    "total_revenue",
)
_FOLD = re.compile(r"[^a-z0-9]+")
# Form field names (or labels, as Activepieces re-keys them) that identify a person.
_FORM_IDENTITY: Final = {
    "email": "email",
    "emailaddress": "email",
    "firstname": "first_name",
    "lastname": "last_name",
    "jobtitle": "title",
    "website": "company_domain",
    "companywebsite": "company_domain",
    "companydomain": "company_domain",
}

log = structlog.get_logger(__name__)


def looks_like(payload: Mapping[str, Any]) -> bool:
    """Whether the object has the fields of one of the HubSpot shapes read here."""
    return _shape(payload) is not None


def to_signals(
    payload: Mapping[str, Any], *, received_at: datetime | None = None
) -> list[dict[str, Any]]:
    """Map one HubSpot object or event to the signals it implies (often several)."""
    shape = _shape(payload)
    mapper = _MAPPERS.get(shape or "")
    if mapper is None:
        log.debug("vendor_payload_skipped", vendor=SOURCE, reason="unknown_shape")
        return []
    return mapper(payload)


def _shape(payload: Mapping[str, Any]) -> str | None:
    if "subscriptionType" in payload:
        return "webhook"
    if "conversionId" in payload and "submittedAt" in payload:
        return "form"
    if "emailCampaignId" in payload and "recipient" in payload:
        return "email"
    if "vid" in payload and "properties" in payload:
        return "contact_v1"
    if "companyId" in payload and "properties" in payload:
        return "company_v2"
    if "id" in payload and "createdAt" in payload and "properties" in payload:
        properties = as_mapping(payload.get("properties"))
        contact = {"email", "firstname", "lastname"} & properties.keys()
        return "contact_v3" if contact else "company_v3"
    return None


def _skip(shape: str, reason: str) -> list[dict[str, Any]]:
    log.debug("vendor_payload_skipped", vendor=SOURCE, shape=shape, reason=reason)
    return []


def _value(properties: Mapping[str, Any], name: str) -> Any:
    """A property value from either the v1/v2 form ({"value": x}) or the v3 form."""
    raw = properties.get(name)
    return raw.get("value") if isinstance(raw, Mapping) else raw


def _values(properties: Mapping[str, Any], names: tuple[str, ...]) -> dict[str, Any]:
    return {name: _value(properties, name) for name in names}


def _webhook(event: Mapping[str, Any]) -> list[dict[str, Any]]:
    kind = str(event.get("subscriptionType", ""))
    name, value = event.get("propertyName"), event.get("propertyValue")
    if kind == "contact.propertyChange" and name == "email":
        identity = make_identity(email=value)
    elif kind == "company.propertyChange" and name == "domain":
        identity = make_identity(company_domain=value)
    else:
        return _skip("webhook", "ids_only")

    occurred_at = first_time(event.get("occurredAt"))
    if identity is None or occurred_at is None:
        return _skip("webhook", "no_identity_or_time")

    # HubSpot says eventId alone is not unique, so the object and time join it.
    key = make_key(
        SOURCE, kind, event.get("eventId"), event.get("objectId"), occurred_at
    )
    return [
        make_signal(
            signal_type="custom_event",
            source=SOURCE,
            occurred_at=occurred_at,
            identity=identity,
            event_name=kind,
            context=pick(event, "objectId", "portalId", "changeSource", "propertyName"),
            idempotency_key=key,
        )
    ]


def _form(submission: Mapping[str, Any]) -> list[dict[str, Any]]:
    fields = _form_values(submission.get("values"))
    found: dict[str, Any] = {}
    extra: dict[str, Any] = {}
    for label, value in fields.items():
        role = _FORM_IDENTITY.get(_FOLD.sub("", label.lower()))
        if role is not None and role not in found:
            found[role] = value
        elif role is None:
            extra[label] = value

    identity = make_identity(**found)
    occurred_at = first_time(submission.get("submittedAt"))
    if identity is None or occurred_at is None:
        return _skip("form", "no_identity_or_time")

    context = {
        "page_url": submission.get("pageUrl"),
        "page_name": submission.get("pageName"),
        "fields": extra,
    }
    return [
        make_signal(
            signal_type="form_submit",
            source=SOURCE,
            occurred_at=occurred_at,
            identity=identity,
            event_name=text_or_none(submission.get("pageName")),
            context=context,
            idempotency_key=make_key(SOURCE, "form", submission.get("conversionId")),
        )
    ]


def _form_values(values: Any) -> dict[str, Any]:
    """Submitted values keyed by field, from a label map or a [{name, value}] list."""
    if isinstance(values, Mapping):
        return {str(k): v for k, v in values.items()}
    return {str(item.get("name")): item.get("value") for item in mappings(values)}


def _email_event(event: Mapping[str, Any]) -> list[dict[str, Any]]:
    kind = str(event.get("type", "")).upper()
    if event.get("filteredEvent") is True:
        return _skip("email", "filtered_by_hubspot")
    if kind in ENGAGEMENT_EMAIL_EVENTS:
        signal_type = "email_engagement"
    elif kind in OTHER_EMAIL_EVENTS:
        signal_type = "custom_event"
    else:
        return _skip("email", "sender_side_event")

    identity = make_identity(email=event.get("recipient"))
    occurred_at = first_time(event.get("created"))
    if identity is None or occurred_at is None:
        return _skip("email", "no_identity_or_time")

    context = pick(
        event, "emailCampaignId", "appName", "deviceType", "url", "linkId", "status"
    )
    return [
        make_signal(
            signal_type=signal_type,
            source=SOURCE,
            occurred_at=occurred_at,
            identity=identity,
            event_name="email_" + kind.lower(),
            context=context,
            idempotency_key=make_key(SOURCE, "email", event.get("id")),
        )
    ]


def _contact_v1(contact: Mapping[str, Any]) -> list[dict[str, Any]]:
    properties = as_mapping(contact.get("properties"))
    identity = make_identity(
        email=_profile_email(contact) or _value(properties, "email"),
        company_domain=_value(properties, "website"),
        first_name=_value(properties, "firstname"),
        last_name=_value(properties, "lastname"),
        title=_value(properties, "jobtitle"),
    )
    if identity is None:
        return _skip("contact_v1", "no_identity")

    signals = [
        _form_signal(identity, submission)
        for submission in mappings(contact.get("form-submissions"))
    ]
    occurred_at = first_time(
        _value(properties, "lastmodifieddate"), contact.get("addedAt")
    )
    if occurred_at is not None:
        context = {"vid": contact.get("vid"), **_values(properties, CONTACT_KEYS)}
        signals.append(
            _contact_signal(identity, contact.get("vid"), occurred_at, context)
        )
    return [signal for signal in signals if signal is not None]


def _profile_email(contact: Mapping[str, Any]) -> str | None:
    for profile in mappings(contact.get("identity-profiles")):
        for item in mappings(profile.get("identities")):
            if item.get("type") == "EMAIL" and email_or_none(item.get("value")):
                return str(item["value"])
    return None


def _form_signal(
    identity: dict[str, str], submission: Mapping[str, Any]
) -> dict[str, Any] | None:
    occurred_at = first_time(submission.get("timestamp"))
    if occurred_at is None:
        return None
    context = {
        "form_id": submission.get("form-id"),
        "form_type": submission.get("form-type"),
        "page_url": submission.get("page-url"),
        "page_title": submission.get("page-title"),
    }
    # The same conversion id as the form webhook, so both paths dedupe together.
    key = make_key(SOURCE, "form", submission.get("conversion-id"))
    return make_signal(
        signal_type="form_submit",
        source=SOURCE,
        occurred_at=occurred_at,
        identity=identity,
        event_name=text_or_none(submission.get("title")),
        context=context,
        idempotency_key=key,
    )


def _contact_signal(
    identity: dict[str, str], object_id: Any, occurred_at: str, context: dict[str, Any]
) -> dict[str, Any]:
    return make_signal(
        signal_type="custom_event",
        source=SOURCE,
        occurred_at=occurred_at,
        identity=identity,
        event_name="contact_updated",
        context=context,
        idempotency_key=make_key(SOURCE, "contact", object_id, occurred_at),
    )


def _contact_v3(contact: Mapping[str, Any]) -> list[dict[str, Any]]:
    properties = as_mapping(contact.get("properties"))
    identity = make_identity(
        email=properties.get("email"),
        company_domain=properties.get("website"),
        first_name=properties.get("firstname"),
        last_name=properties.get("lastname"),
        title=properties.get("jobtitle"),
    )
    occurred_at = first_time(
        contact.get("updatedAt"),
        properties.get("lastmodifieddate"),
        contact.get("createdAt"),
    )
    if identity is None or occurred_at is None or contact.get("archived") is True:
        return _skip("contact_v3", "no_identity_time_or_archived")

    context = {"id": contact.get("id"), **pick(properties, *CONTACT_KEYS)}
    return [_contact_signal(identity, contact.get("id"), occurred_at, context)]


def _company(
    object_id: Any, properties: Mapping[str, Any], deleted: bool, *times: Any
) -> list[dict[str, Any]]:
    identity = make_identity(company_domain=_value(properties, "domain"))
    occurred_at = first_time(*times)
    if identity is None or occurred_at is None or deleted:
        return _skip("company", "no_domain_time_or_deleted")

    context = {"company_id": object_id, **_values(properties, COMPANY_KEYS)}
    return [
        make_signal(
            signal_type="custom_event",
            source=SOURCE,
            occurred_at=occurred_at,
            identity=identity,
            event_name="company_updated",
            context=context,
            idempotency_key=make_key(SOURCE, "company", object_id, occurred_at),
        )
    ]


def _company_v2(company: Mapping[str, Any]) -> list[dict[str, Any]]:
    properties = as_mapping(company.get("properties"))
    return _company(
        company.get("companyId"),
        properties,
        company.get("isDeleted") is True,
        _value(properties, "hs_lastmodifieddate"),
        _value(properties, "createdate"),
    )


def _company_v3(company: Mapping[str, Any]) -> list[dict[str, Any]]:
    properties = as_mapping(company.get("properties"))
    return _company(
        company.get("id"),
        properties,
        company.get("archived") is True,
        company.get("updatedAt"),
        properties.get("hs_lastmodifieddate"),
        company.get("createdAt"),
    )


_MAPPERS: Final = {
    "webhook": _webhook,
    "form": _form,
    "email": _email_event,
    "contact_v1": _contact_v1,
    "contact_v3": _contact_v3,
    "company_v2": _company_v2,
    "company_v3": _company_v3,
}
