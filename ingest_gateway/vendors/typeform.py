"""Typeform responses as form_submit signals.

Accepts the webhook body (`{"event_type": "form_response", "form_response": ...}`),
the bare `form_response` object, and one item of the Responses API list. The
respondent is known only through an answer of type email or a hidden field named
email; a response without either maps to nothing. Unfinished responses (no
answers, or Typeform's placeholder submit time 0001-01-01) are not submissions.
"""

from __future__ import annotations

import re
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
    text_or_none,
)

SOURCE: Final = "typeform"
MAX_ANSWERS: Final = 20
# Field titles that name the respondent, read only when the form definition is sent.
_NAME_FIELDS: Final = (
    ("first_name", re.compile(r"\bfirst\s*name\b", re.I)),
    ("last_name", re.compile(r"\b(last|family|sur)\s*name\b", re.I)),
    ("title", re.compile(r"\b(job\s*title|role|position)\b", re.I)),
    ("company_domain", re.compile(r"\b(company\s*)?(website|domain)\b", re.I)),
)

_PERSONAL_HIDDEN: Final = frozenset({"email", "first_name", "last_name"})

log = structlog.get_logger(__name__)


def looks_like(payload: Mapping[str, Any]) -> bool:
    """Whether the object is a Typeform webhook body or response."""
    if payload.get("event_type") == "form_response" or "form_response" in payload:
        return True
    return "token" in payload and "answers" in payload and "landed_at" in payload


def to_signals(
    payload: Mapping[str, Any], *, received_at: datetime | None = None
) -> list[dict[str, Any]]:
    """Map one response to a form_submit whose context holds the answers."""
    response = as_mapping(payload.get("form_response")) or payload
    answers = list(mappings(response.get("answers")))
    if not answers:
        return _skip("no_answers")

    occurred_at = first_time(response.get("submitted_at"))
    if occurred_at is None:
        return _skip("not_submitted")

    titles = _field_titles(response)
    identity = _identity(answers, as_mapping(response.get("hidden")), titles)
    if identity is None:
        return _skip("no_identity")

    definition = as_mapping(response.get("definition"))
    form_id = response.get("form_id") or definition.get("id")
    return [
        make_signal(
            signal_type="form_submit",
            source=SOURCE,
            occurred_at=occurred_at,
            identity=identity,
            event_name=text_or_none(definition.get("title")) or text_or_none(form_id),
            context=_context(response, answers, titles, form_id),
            idempotency_key=make_key(SOURCE, response.get("token")),
        )
    ]


def _skip(reason: str) -> list[dict[str, Any]]:
    log.debug("vendor_payload_skipped", vendor=SOURCE, reason=reason)
    return []


def _field_titles(response: Mapping[str, Any]) -> dict[str, str]:
    fields = mappings(as_mapping(response.get("definition")).get("fields"))
    return {
        str(field.get("id")): str(field.get("title"))
        for field in fields
        if field.get("id") and field.get("title")
    }


def _identity(
    answers: list[Mapping[str, Any]],
    hidden: Mapping[str, Any],
    titles: Mapping[str, str],
) -> dict[str, str] | None:
    found: dict[str, Any] = {
        key: hidden.get(key)
        for key in ("email", "first_name", "last_name", "company_domain")
    }
    for answer in answers:
        if answer.get("type") == "email" and answer.get("email"):
            found["email"] = answer["email"]
            continue
        title = titles.get(str(as_mapping(answer.get("field")).get("id")), "")
        for key, pattern in _NAME_FIELDS:
            if pattern.search(title) and not found.get(key):
                found[key] = _answer_value(answer)
    return make_identity(**found)


def _answer_value(answer: Mapping[str, Any]) -> Any:
    kind = answer.get("type")
    if kind == "choice":
        return as_mapping(answer.get("choice")).get("label")
    if kind == "choices":
        return as_mapping(answer.get("choices")).get("labels")
    return answer.get(str(kind)) if isinstance(kind, str) else None


def _context(
    response: Mapping[str, Any],
    answers: list[Mapping[str, Any]],
    titles: Mapping[str, str],
    form_id: Any,
) -> dict[str, Any]:
    by_field: dict[str, Any] = {}
    for answer in answers[:MAX_ANSWERS]:
        if answer.get("type") == "email":
            continue
        field = as_mapping(answer.get("field"))
        name = field.get("ref") or titles.get(str(field.get("id"))) or field.get("id")
        by_field[str(name)] = _answer_value(answer)

    metadata = as_mapping(response.get("metadata"))
    hidden = as_mapping(response.get("hidden"))
    return {
        "form_id": form_id,
        "answers": by_field,
        "hidden": {k: v for k, v in hidden.items() if k not in _PERSONAL_HIDDEN},
        "score": as_mapping(response.get("calculated")).get("score"),
        "referer": metadata.get("referer"),
        "landed_at": response.get("landed_at"),
        "metadata": pick(metadata, "platform", "browser"),
    }
