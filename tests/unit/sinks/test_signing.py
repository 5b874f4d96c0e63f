"""Standard Webhooks signing over the exact bytes sent."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from standardwebhooks import Webhook, WebhookVerificationError

from sinks.webhooks.signing import CONTENT_TYPE, signed_headers

SECRET_OLD = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
SECRET_NEW = "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD"

# B27: non-ASCII, control and separator characters, an emoji and a float.
TRICKY_BODY = json.dumps(
    {
        "last_name": "Zo\u00eb",
        "title": "Head of Growth \u2028 EMEA",
        "note": "\u001b[34mblue\u001b[0m \u2665",
        "ratio": 1.0,
        "emoji": "\U0001f600",
        "html": "<b>&</b>",
    },
    ensure_ascii=False,
).encode("utf-8")


def test_signature_verifies_over_tricky_bytes() -> None:
    """A receiver verifying over the raw body accepts non-ASCII and control text."""
    headers = signed_headers("msg_1", TRICKY_BODY, [SECRET_OLD])

    payload = Webhook(SECRET_OLD).verify(TRICKY_BODY, headers)

    assert payload["title"] == "Head of Growth \u2028 EMEA"


def test_every_rotation_secret_verifies() -> None:
    """During a rotation both the old and the new secret verify the same request."""
    headers = signed_headers("msg_2", TRICKY_BODY, [SECRET_OLD, SECRET_NEW])

    for secret in (SECRET_OLD, SECRET_NEW):
        Webhook(secret).verify(TRICKY_BODY, headers)

    assert len(headers["webhook-signature"].split(" ")) == 2


def test_signature_fails_when_the_body_is_re_encoded() -> None:
    """The signature covers bytes: an ASCII-escaped re-serialization does not verify."""
    headers = signed_headers("msg_3", TRICKY_BODY, [SECRET_OLD])
    re_encoded = json.dumps(json.loads(TRICKY_BODY)).encode()

    with pytest.raises(WebhookVerificationError):
        Webhook(SECRET_OLD).verify(re_encoded, headers)


def test_headers_carry_id_timestamp_and_content_type() -> None:
    """The headers name the stable id, the attempt's second and UTF-8 JSON."""
    moment = datetime(2024, 5, 1, 12, 0, 0, tzinfo=UTC)

    headers = signed_headers("msg_4", b"{}", [SECRET_OLD], now=moment)

    assert headers["webhook-id"] == "msg_4"
    assert headers["webhook-timestamp"] == str(int(moment.timestamp()))
    assert headers["Content-Type"] == CONTENT_TYPE == "application/json; charset=utf-8"


def test_no_secret_is_an_error() -> None:
    """An endpoint without secrets cannot be signed for, so it is refused loudly."""
    with pytest.raises(ValueError, match="secret"):
        signed_headers("msg_5", b"{}", [])
