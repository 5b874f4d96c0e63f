"""Plain JSON bodies on the raw topic, keyed exactly as the gateway keys them."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from schemas import keys
from schemas.identity import canonicalize
from stream_processors.plain import (
    WORKSPACE_HEADER,
    PlainSignalError,
    parse_body,
    raw_signal,
    workspace_header,
)
from tests.unit.processor.helpers import WORKSPACE_ID, workspace

RECEIVED = datetime(2024, 5, 2, 9, 0, tzinfo=UTC)
MAX_FUTURE = timedelta(days=1)
BODY: dict[str, Any] = {
    "signal_type": "website_visit",
    "source": "web_tracker",
    "event_name": "pricing_page_viewed",
    "occurred_at": "2024-05-01T14:00:00+02:00",
    "identity": {"email": "Jane.Doe@Example.com", "company_domain": "example.com"},
    "context": {"page_url": "https://example.com/pricing"},
}


def refusal(body: Any) -> PlainSignalError:
    with pytest.raises(PlainSignalError) as caught:
        raw_signal(body, workspace(), RECEIVED, MAX_FUTURE)
    return caught.value


def test_header_names_the_workspace_in_either_shape() -> None:
    """The workspace header is read from pairs or a mapping, bytes or text."""
    assert workspace_header([(WORKSPACE_HEADER, b"ws-1")]) == "ws-1"
    assert workspace_header({WORKSPACE_HEADER: "ws-2"}) == "ws-2"
    assert workspace_header([("other", b"x")]) is None
    assert workspace_header(None) is None


def test_valid_body_is_keyed_as_the_gateway_keys_it() -> None:
    """Dedupe key and capture id are those of the canonical identity and instant."""
    raw = raw_signal(
        parse_body(json.dumps(BODY).encode()), workspace(), RECEIVED, MAX_FUTURE
    )

    instant = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
    expected_key = keys.dedupe_key(
        WORKSPACE_ID,
        "website_visit",
        "web_tracker",
        canonicalize(BODY["identity"]),
        instant,
    )
    assert raw["dedupe_key"] == expected_key
    assert raw["capture_id"] == keys.capture_id(expected_key)
    assert raw["occurred_at"] == instant
    assert raw["received_at"] == RECEIVED
    assert raw["body_sha256"] == keys.body_fingerprint(BODY)
    assert json.loads(raw["context_json"]) == BODY["context"]


def test_idempotency_key_keys_the_event() -> None:
    """A body with an idempotency key is keyed by it, as at the gateway."""
    raw = raw_signal(
        {**BODY, "idempotency_key": "evt-1"}, workspace(), RECEIVED, MAX_FUTURE
    )

    assert raw["dedupe_key"] == keys.idempotency_dedupe_key(WORKSPACE_ID, "evt-1")


@pytest.mark.parametrize(
    ("value", "fragment"),
    [
        (b"not-json", "not JSON"),
        (b'{"a": 1, "a": 2}', "duplicate key"),
        (b'{"a": NaN}', "NaN"),
        (b"", "empty"),
    ],
)
def test_bad_json_is_refused(value: bytes, fragment: str) -> None:
    """Bytes that are not strict JSON are refused as invalid_json."""
    with pytest.raises(PlainSignalError) as caught:
        parse_body(value)

    assert caught.value.reason == "invalid_json"
    assert fragment in str(caught.value)


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"identity": None}, "identity"),
        ({"occurred_at": 1714564800}, "occurred_at"),
        ({"context": ["a", "b"]}, "context"),
        ({"identity": {"first_name": "Jane"}}, "identity"),
        ({"source": ""}, "source"),
        ({"extra": 1}, "extra"),
    ],
)
def test_contract_breaches_name_the_field(changes: dict[str, Any], field: str) -> None:
    """Each body breaking the contract is refused with the field named (B11)."""
    error = refusal({**BODY, **changes})

    assert error.reason == "invalid_signal"
    assert str(error).startswith(field)


def test_unknown_type_is_refused() -> None:
    """A type neither built in nor declared is refused as at the gateway."""
    assert refusal({**BODY, "signal_type": "nope"}).reason == "unknown_signal_type"
