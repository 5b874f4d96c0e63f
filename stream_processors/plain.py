"""Plain JSON signal bodies found on the raw topic, keyed as the gateway would.

Old clients and replay tools produce the public JSON body straight to
``signals.raw`` instead of going through the gateway. Such a message is accepted
when it carries its workspace id in the Kafka header ``unstuck-workspace-id``
(UTF-8 text); the value is the same body ``POST /signals`` takes. It is checked
against the same contract with the same canonical forms (``schemas.identity``,
``schemas.instant``), keyed with ``schemas.keys``, and turned into the Avro
``signal_raw`` value the gateway would have written, so its capture id and dedupe
key are the ones a gateway call for the same event gets. The time it was received
is the broker's timestamp of the message, so a replay of it keys identically.

Anything else (not JSON, a field breaking the contract, an unknown type) raises
``PlainSignalError`` with a reason the caller dead-letters.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any, Final

from schemas import keys
from schemas.identity import IdentityError, canonicalize
from schemas.instant import InstantError, parse_instant
from schemas.signal_body import BODY_FIELDS, IDENTITY_FIELDS, MAX_TEXT
from schemas.workspace import type_settings

WORKSPACE_HEADER: Final = "unstuck-workspace-id"
MAX_INTEGER_DIGITS: Final = 64


class PlainSignalError(ValueError):
    """A plain JSON message that cannot become a signal; ``reason`` is a stable tag."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


def workspace_header(headers: Any) -> str | None:
    """The workspace id a message declares in its headers, if any.

    Faust hands headers over as a list of pairs or as a mapping, depending on
    the driver; both are read.
    """
    if not headers:
        return None
    pairs = headers.items() if isinstance(headers, Mapping) else headers
    for name, value in pairs:
        if name == WORKSPACE_HEADER and value:
            text = value.decode("utf-8", errors="replace") if isbytes(value) else value
            return str(text).strip() or None
    return None


def isbytes(value: object) -> bool:
    """Tell raw header bytes from text."""
    return isinstance(value, bytes | bytearray)


def parse_body(value: bytes | None) -> Any:
    """Strict JSON: no duplicate keys, NaN, infinities or absurdly long integers."""
    if not value or not value.strip():
        raise PlainSignalError("invalid_json", "the message is empty")
    try:
        return json.loads(
            value.decode("utf-8"),
            object_pairs_hook=_unique_keys,
            parse_constant=_no_constant,
            parse_float=_finite_float,
            parse_int=_bounded_int,
        )
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as error:
        raise PlainSignalError("invalid_json", f"not JSON: {error}") from error
    except ValueError as error:
        raise PlainSignalError("invalid_json", str(error)) from error


def raw_signal(
    body: Any,
    workspace: dict[str, Any],
    received_at: datetime,
    max_future: timedelta,
) -> dict[str, Any]:
    """The ``signal_raw`` value the gateway would have written for this body."""
    if not isinstance(body, dict):
        raise PlainSignalError("invalid_signal", "$: must be a JSON object")
    unknown = sorted(body.keys() - BODY_FIELDS)
    if unknown:
        raise PlainSignalError("invalid_signal", f"{unknown[0]}: unknown field")

    signal_type = _text(body, "signal_type", required=True)
    source = _text(body, "source", required=True)
    event_name = _text(body, "event_name", required=False)
    idempotency_key = _text(body, "idempotency_key", required=False)
    occurred_at = _occurred_at(body.get("occurred_at"), received_at, max_future)
    identity = _identity(body.get("identity"))
    context_json = _context(body.get("context"))
    _check_type(signal_type, workspace)

    workspace_id = str(workspace["workspace_id"])
    canonical = canonicalize(identity)
    if idempotency_key is not None:
        dedupe_key = keys.idempotency_dedupe_key(workspace_id, idempotency_key)
    else:
        dedupe_key = keys.dedupe_key(
            workspace_id, signal_type, source, canonical, occurred_at
        )
    return {
        "capture_id": keys.capture_id(dedupe_key),
        "workspace_id": workspace_id,
        "dedupe_key": dedupe_key,
        "body_sha256": keys.body_fingerprint(body),
        "received_at": received_at,
        "signal_type": signal_type,
        "source": source,
        "event_name": event_name,
        "occurred_at": occurred_at,
        "identity": identity,
        "context_json": context_json,
        "idempotency_key": idempotency_key,
    }


def _text(body: dict[str, Any], name: str, *, required: bool) -> Any:
    value = body.get(name)
    if value is None:
        if required:
            raise PlainSignalError("invalid_signal", f"{name}: is required")
        return None
    if not isinstance(value, str) or not value.strip():
        raise PlainSignalError("invalid_signal", f"{name}: must be a non-empty string")
    if len(value) > MAX_TEXT:
        raise PlainSignalError("invalid_signal", f"{name}: is too long")
    return value


def _occurred_at(raw: object, now: datetime, max_future: timedelta) -> datetime:
    if raw is None:
        raise PlainSignalError("invalid_signal", "occurred_at: is required")
    try:
        return parse_instant(raw, now=now, max_future=max_future)
    except InstantError as error:
        raise PlainSignalError("invalid_signal", str(error)) from error


def _identity(raw: object) -> dict[str, str | None]:
    if raw is None:
        raise PlainSignalError("invalid_signal", "identity: is required")
    if not isinstance(raw, dict):
        raise PlainSignalError("invalid_signal", "identity: must be an object")
    unknown = sorted(raw.keys() - set(IDENTITY_FIELDS))
    if unknown:
        raise PlainSignalError("invalid_signal", f"identity.{unknown[0]}: unknown")
    try:
        canonicalize(raw)
    except IdentityError as error:
        raise PlainSignalError(
            "invalid_signal", f"{error.field}: {error.message}"
        ) from error
    return {name: raw.get(name) for name in IDENTITY_FIELDS}


def _context(context: object) -> str | None:
    if context is None:
        return None
    if not isinstance(context, dict):
        raise PlainSignalError("invalid_signal", "context: must be an object")
    return json.dumps(
        context, ensure_ascii=False, allow_nan=False, separators=(",", ":")
    )


def _check_type(signal_type: str, workspace: dict[str, Any]) -> None:
    settings = type_settings(workspace, signal_type)
    if settings is None:
        raise PlainSignalError("unknown_signal_type", f"signal_type: {signal_type}")
    if not settings.enabled:
        raise PlainSignalError("signal_type_disabled", f"signal_type: {signal_type}")


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise ValueError(f"duplicate key {key!r}")
        result[key] = value
    return result


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"number {text[:40]} is out of range")
    return value


def _bounded_int(text: str) -> int:
    if len(text.lstrip("-")) > MAX_INTEGER_DIGITS:
        raise ValueError("integer is longer than allowed")
    return int(text)
