"""Log lines never carry a full email address, an API key or a webhook secret."""

from __future__ import annotations

import logging

from schemas.observability import ScrubRecords, scrub, scrub_event
from schemas.workspace import new_webhook_secret, new_workspace


def test_emails_in_free_text_keep_their_first_letter_and_domain() -> None:
    """A PostgreSQL detail quoting a row loses the local parts of its addresses."""
    detail = 'Key (email)=(ana.silva+crm@Example.co.uk) conflicts with "bo@x.io".'

    expected = 'Key (email)=(a***@Example.co.uk) conflicts with "b***@x.io".'

    assert scrub(detail) == expected


def test_keys_and_secrets_are_cut_after_their_prefix() -> None:
    """Whatever follows usk_ or whsec_ is the secret, so none of it is kept."""
    _, api_key = new_workspace("scrub-test")
    secret = new_webhook_secret()

    scrubbed = scrub(f"refused {api_key} and {secret}")

    assert scrubbed == "refused usk_*** and whsec_***"


def test_every_string_field_of_an_event_is_scrubbed() -> None:
    """The processor applies to each field, the traceback text included."""
    event = {
        "event": "sink.dead_lettered",
        "reason": "rejected: ana@example.com",
        "exception": "Traceback ...\nValueError: bo@example.com",
        "offset": 7,
    }

    scrubbed = scrub_event(None, "warning", dict(event))

    assert scrubbed == {
        "event": "sink.dead_lettered",
        "reason": "rejected: a***@example.com",
        "exception": "Traceback ...\nValueError: b***@example.com",
        "offset": 7,
    }


def test_text_without_secrets_is_left_alone() -> None:
    """Ids, topics and ordinary messages pass unchanged."""
    text = "signals.raw[3]@1042 capture 5fed8fa0 user_id=12"

    assert scrub(text) == text


def test_standard_library_records_are_scrubbed_too() -> None:
    """Faust's and aiokafka's own lines never pass through structlog."""
    record = logging.LogRecord(
        "aiokafka", logging.WARNING, __file__, 1, "key %s of %s", None, None
    )
    record.args = ("usk_abcDEF123", "ana.lopez@stripe.com")

    ScrubRecords().filter(record)

    assert record.getMessage() == "key usk_*** of a***@stripe.com"
