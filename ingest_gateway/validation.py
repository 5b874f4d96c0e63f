"""The signal contract: what a body must hold before it may enter the pipeline."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from ingest_gateway.body import find_bad_text
from ingest_gateway.errors import ApiError, FieldError, invalid
from schemas.identity import CanonicalIdentity, canonicalize_reporting
from schemas.instant import InstantError, parse_instant
from schemas.signal_body import BODY_FIELDS, IDENTITY_FIELDS, MAX_TEXT
from schemas.workspace import type_settings

_IDENTITY_FIELD_SET = frozenset(IDENTITY_FIELDS)
# One encoder for every body; context_json is stored, so these settings are fixed.
_CONTEXT_JSON = json.JSONEncoder(
    ensure_ascii=False, allow_nan=False, separators=(",", ":")
)


@dataclass(frozen=True)
class ValidSignal:
    """A body that honours the contract, with its canonical forms worked out."""

    signal_type: str
    source: str
    occurred_at: datetime
    identity: dict[str, str | None]
    canonical: CanonicalIdentity
    event_name: str | None
    context_json: str | None
    idempotency_key: str | None
    body: dict[str, Any]


def validate_signal(
    body: Any,
    workspace: dict[str, Any],
    *,
    now: datetime,
    max_future: timedelta,
    max_depth: int,
    text_checked: bool = False,
) -> ValidSignal:
    """Check one body against the contract; every offending field is named.

    ``text_checked`` passes on that the raw JSON held no escape that could make
    NUL or a lone surrogate (``body.may_hold_bad_text``), which a batch learns
    once for all its items.
    """
    if not isinstance(body, dict):
        raise ApiError(
            400,
            "invalid_body",
            "the body must be a JSON object",
            [FieldError("$", "expected a JSON object")],
        )

    errors = _unknown_fields(body)
    bad_text = find_bad_text(body, "", max_depth, text_checked=text_checked)
    if bad_text is not None:
        errors.append(bad_text)
        raise invalid(errors)

    signal_type = _required_text(body, "signal_type", errors)
    source = _required_text(body, "source", errors)
    event_name = _optional_text(body, "event_name", errors)
    idempotency_key = _optional_text(body, "idempotency_key", errors)
    occurred_at = _occurred_at(body, now, max_future, errors)
    identity, canonical = _identity(body, errors)
    context_json = _context(body, errors)

    if signal_type is not None:
        _check_type_enabled(signal_type, workspace)

    if (
        errors
        or signal_type is None
        or source is None
        or occurred_at is None
        or identity is None
        or canonical is None
    ):
        raise invalid(errors)
    return ValidSignal(
        signal_type=signal_type,
        source=source,
        occurred_at=occurred_at,
        identity=identity,
        canonical=canonical,
        event_name=event_name,
        context_json=context_json,
        idempotency_key=idempotency_key,
        body=body,
    )


def _unknown_fields(body: dict[str, Any]) -> list[FieldError]:
    return [
        FieldError(name, "unknown field") for name in sorted(body.keys() - BODY_FIELDS)
    ]


def _required_text(
    body: dict[str, Any], name: str, errors: list[FieldError]
) -> str | None:
    value = body.get(name)
    if value is None:
        errors.append(FieldError(name, "is required"))
        return None
    return _text(value, name, errors)


def _optional_text(
    body: dict[str, Any], name: str, errors: list[FieldError]
) -> str | None:
    value = body.get(name)
    return None if value is None else _text(value, name, errors)


def _text(value: Any, name: str, errors: list[FieldError]) -> str | None:
    if not isinstance(value, str):
        errors.append(FieldError(name, "must be a string"))
        return None
    if not value.strip():
        errors.append(FieldError(name, "must not be empty"))
        return None
    if len(value) > MAX_TEXT:
        errors.append(FieldError(name, f"is longer than {MAX_TEXT} characters"))
        return None
    return value


def _occurred_at(
    body: dict[str, Any],
    now: datetime,
    max_future: timedelta,
    errors: list[FieldError],
) -> datetime | None:
    raw = body.get("occurred_at")
    if raw is None:
        errors.append(FieldError("occurred_at", "is required"))
        return None
    try:
        return parse_instant(raw, now=now, max_future=max_future)
    except InstantError as error:
        errors.append(FieldError("occurred_at", error.message))
        return None


def _identity(
    body: dict[str, Any], errors: list[FieldError]
) -> tuple[dict[str, str | None] | None, CanonicalIdentity | None]:
    raw = body.get("identity")
    if raw is None:
        errors.append(FieldError("identity", "is required"))
        return None, None
    if not isinstance(raw, dict):
        errors.append(FieldError("identity", "must be an object"))
        return None, None

    unknown = sorted(raw.keys() - _IDENTITY_FIELD_SET)
    errors.extend(FieldError(f"identity.{name}", "unknown field") for name in unknown)

    canonical, problems = canonicalize_reporting(raw)
    if canonical is None:
        errors.extend(FieldError(p.field, p.message) for p in problems)
        return None, None

    identity = {name: raw.get(name) for name in IDENTITY_FIELDS}
    return identity, canonical


def _context(body: dict[str, Any], errors: list[FieldError]) -> str | None:
    context = body.get("context")
    if context is None:
        return None
    if not isinstance(context, dict):
        errors.append(FieldError("context", "must be an object"))
        return None
    try:
        return _CONTEXT_JSON.encode(context)
    except ValueError:
        # The HTTP body parser already refuses NaN and overflowing numbers; a
        # caller handing in a decoded body of its own gets the same refusal.
        errors.append(FieldError("context", "holds a number outside JSON's range"))
        return None


def _check_type_enabled(signal_type: str, workspace: dict[str, Any]) -> None:
    settings = type_settings(workspace, signal_type)
    if settings is None:
        raise ApiError(
            400,
            "unknown_signal_type",
            f"signal_type {signal_type!r} is neither built in nor declared",
            [FieldError("signal_type", "unknown signal type")],
        )
    if not settings.enabled:
        raise ApiError(
            403,
            "signal_type_disabled",
            f"signal_type {signal_type!r} is not enabled in this workspace",
            [FieldError("signal_type", "not enabled in this workspace")],
        )
