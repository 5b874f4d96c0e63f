"""Dedupe keys, capture and lead ids: field cases B12, B16, B18, B20, B30."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from schemas.identity import CanonicalIdentity, IdentityError, canonicalize
from schemas.instant import parse_instant
from schemas.keys import (
    account_id,
    body_fingerprint,
    capture_id,
    dedupe_key,
    idempotency_dedupe_key,
    lead_id,
)

NOW = datetime(2024, 5, 2, 9, 30, tzinfo=UTC)
WORKSPACE = "ws_a"

BASE_IDENTITY = {
    "email": "jane.doe@example.com",
    "linkedin_url": "https://www.linkedin.com/in/jane-doe-example",
    "company_domain": "example.com",
    "first_name": "Jane",
    "last_name": "Doe",
    "title": "VP of Marketing",
}

BASE_BODY: dict[str, object] = {
    "signal_type": "website_visit",
    "source": "web_tracker",
    "event_name": "pricing_page_viewed",
    "occurred_at": "2024-05-01T12:00:00Z",
    "identity": BASE_IDENTITY,
    "context": {"page_url": "https://example.com/pricing"},
}

# A loaded CI machine must not turn one slow example into a failure.
relaxed = settings(deadline=None)


def _capture(
    identity: Mapping[str, object] | None = None,
    occurred_at: str = "2024-05-01T12:00:00Z",
    workspace: str = WORKSPACE,
    source: str = "web_tracker",
) -> str:
    """The capture id the gateway computes for the base signal with overrides."""
    key = dedupe_key(
        workspace,
        "website_visit",
        source,
        canonicalize(identity or BASE_IDENTITY),
        parse_instant(occurred_at, now=NOW),
    )
    return capture_id(key)


def test_b12_occurred_at_spellings_share_a_capture() -> None:
    """B12 a-e share one capture id, f (1 ms later) gets its own."""
    same = [
        "2024-05-01T12:00:00Z",
        "2024-05-01T12:00:00.000Z",
        "2024-05-01T12:00:00+00:00",
        "2024-05-01T14:00:00+02:00",
        "2024-05-01T12:00:00.0000001Z",
    ]

    captures = {_capture(occurred_at=raw) for raw in same}
    later = _capture(occurred_at="2024-05-01T12:00:00.001Z")

    assert len(captures) == 1
    assert later not in captures


def test_b16_gmail_spellings_share_a_capture_and_a_lead() -> None:
    """B16 a-c: one capture and one person; d and e are two other people."""
    emails = [
        "Jane.Doe+webinar@gmail.com",
        "janedoe@googlemail.com",
        "JANEDOE@GMAIL.COM",
        "jane.doe+webinar@example.com",
        "janedoe@example.com",
    ]
    identities = [{**BASE_IDENTITY, "email": email} for email in emails]

    captures = [_capture(identity) for identity in identities]
    leads = [lead_id(WORKSPACE, canonicalize(identity)) for identity in identities]

    assert len(set(captures[:3])) == 1
    assert len(set(captures)) == 3
    assert len(set(leads[:3])) == 1
    assert len(set(leads)) == 3
    assert {kind for _, kind in leads} == {"person"}


def test_b18_profile_spellings_share_a_capture_and_a_lead() -> None:
    """B18 a-d: one capture and one person; the /pub/ URL e is another person."""
    no_email = {k: v for k, v in BASE_IDENTITY.items() if k != "email"}
    urls = [
        "https://de.linkedin.com/in/j%C3%BCrgen-m%C3%BCller-12345/",
        "https://www.linkedin.com/in/jürgen-müller-12345",
        "linkedin.com/in/j%c3%bcrgen-m%c3%bcller-12345?trk=public_profile_browsemap",
        "HTTP://WWW.LINKEDIN.COM/in/j%C3%BCrgen-m%C3%BCller-12345#experience",
        "https://www.linkedin.com/pub/jane-doe/1a/2b3/4c5",
    ]
    identities = [{**no_email, "linkedin_url": url} for url in urls]

    captures = [_capture(identity) for identity in identities]
    leads = [lead_id(WORKSPACE, canonicalize(identity)) for identity in identities]

    assert len(set(captures[:4])) == 1
    assert len(set(captures)) == 2
    assert len(set(leads[:4])) == 1
    assert len(set(leads)) == 2


def test_b20_domain_spellings_share_a_capture_and_an_account() -> None:
    """B20 a-d: one capture and one company; e-f share another company."""
    domains = [
        " HTTPS://WWW.Example-Corp.example/about?ref=x ",
        "example-corp.example.",
        "www.example-corp.example:443",
        "Example-Corp.Example",
    ]

    captures = {_capture({**BASE_IDENTITY, "company_domain": d}) for d in domains}
    accounts = {account_id(WORKSPACE, domain) for domain in domains}
    idn = {
        account_id(WORKSPACE, d) for d in ["bücher.example", "xn--bcher-kva.example"]
    }

    assert len(captures) == 1
    assert len(accounts) == 1
    assert len(idn) == 1
    assert idn != accounts


def test_company_only_signal_attaches_to_the_account() -> None:
    """With no person key the lead is the company's account."""
    identity = canonicalize({"company_domain": "www.Example-Corp.example"})

    actual = lead_id(WORKSPACE, identity)

    assert actual == (account_id(WORKSPACE, "example-corp.example"), "account")


def test_lead_id_needs_an_identifying_field() -> None:
    """An identity built by hand with no key fields is refused, not hashed."""
    with pytest.raises(IdentityError):
        lead_id(WORKSPACE, CanonicalIdentity(first_name="Jane"))


def test_names_do_not_change_the_capture() -> None:
    """Names and title describe the person; they do not identify the event."""
    renamed = {**BASE_IDENTITY, "first_name": "Janet", "title": "CMO"}

    assert _capture(renamed) == _capture()


def test_keys_are_scoped_by_workspace() -> None:
    """One event in two workspaces has two keys, two captures and two leads."""
    identity = canonicalize(BASE_IDENTITY)

    assert _capture(workspace="ws_a") != _capture(workspace="ws_b")
    assert lead_id("ws_a", identity) != lead_id("ws_b", identity)
    assert account_id("ws_a", "example.com") != account_id("ws_b", "example.com")


def test_source_is_part_of_the_tuple() -> None:
    """The same event from two sources is two captures."""
    assert _capture(source="web_tracker") != _capture(source="crm_sync")


def test_dedupe_key_is_readable_and_prefixed() -> None:
    """Keys start with the workspace so tooling can filter a topic by tenant."""
    key = dedupe_key(
        "ws_a",
        "website_visit",
        "web_tracker",
        canonicalize(BASE_IDENTITY),
        datetime(2024, 5, 1, 12, tzinfo=UTC),
    )

    assert key.startswith("ws_a:sig:")
    assert len(key.rpartition(":")[2]) == 64


def test_parts_cannot_bleed_into_each_other() -> None:
    """Moving text between adjacent parts never yields the same key."""
    identity = canonicalize(BASE_IDENTITY)
    instant = datetime(2024, 5, 1, 12, tzinfo=UTC)

    first = dedupe_key("ws", "a:b", "c", identity, instant)
    second = dedupe_key("ws", "a", "b:c", identity, instant)

    assert first != second


def test_capture_id_is_a_stable_uuid5() -> None:
    """Capture ids are version-5 UUIDs, the same on every call and host."""
    actual = uuid.UUID(capture_id("ws_a:sig:abc"))

    assert actual.version == 5
    assert str(actual) == capture_id("ws_a:sig:abc")
    assert capture_id("ws_a:sig:abc") != capture_id("ws_a:sig:abd")


def test_b30_idempotency_keys_are_scoped_to_the_workspace() -> None:
    """B30: a and b share a key, c (other source) too, e in workspace B does not."""
    in_a = idempotency_dedupe_key("ws_a", "evt-0001")
    again_in_a = idempotency_dedupe_key("ws_a", "evt-0001")
    in_b = idempotency_dedupe_key("ws_b", "evt-0001")

    assert in_a == again_in_a
    assert in_a != in_b
    assert capture_id(in_a) != capture_id(in_b)
    assert in_a.startswith("ws_a:idem:")


def test_b30_body_fingerprint_tells_replay_from_conflict() -> None:
    """B30: b matches a; c (other source) and d (other event_name) do not."""
    first = {**BASE_BODY, "idempotency_key": "evt-0001"}
    retry = {**BASE_BODY, "idempotency_key": "evt-0001"}
    other_source = {**first, "source": "crm_sync"}
    changed = {**first, "event_name": "demo_requested"}

    assert body_fingerprint(first) == body_fingerprint(retry)
    assert body_fingerprint(first) != body_fingerprint(other_source)
    assert body_fingerprint(first) != body_fingerprint(changed)


def test_body_fingerprint_ignores_key_order_and_the_key_itself() -> None:
    """Key order and the idempotency key's own value are no part of the body."""
    reordered = dict(reversed(list(BASE_BODY.items())))

    actual = body_fingerprint({**reordered, "idempotency_key": "evt-0002"})

    assert actual == body_fingerprint(BASE_BODY)


def test_body_fingerprint_keeps_big_integers_exact() -> None:
    """2**64 and 2**64 + 1 are different bodies, as JSON floats would not be."""
    low = {**BASE_BODY, "context": {"crm_id": 2**64}}
    high = {**BASE_BODY, "context": {"crm_id": 2**64 + 1}}

    assert body_fingerprint(low) != body_fingerprint(high)


def test_body_fingerprint_refuses_non_finite_numbers() -> None:
    """NaN has no JSON form, so no fingerprint pretends to hold it."""
    with pytest.raises(ValueError, match="JSON"):
        body_fingerprint({**BASE_BODY, "context": {"score": float("nan")}})


@relaxed
@given(
    st.datetimes(
        min_value=datetime(2000, 1, 1),
        max_value=datetime(2024, 1, 1),
        timezones=st.just(UTC),
    ),
    st.integers(min_value=-(23 * 60 + 59), max_value=23 * 60 + 59),
)
def test_any_offset_spelling_gives_the_same_key(
    instant: datetime, offset_minutes: int
) -> None:
    """Writing one instant in any offset never changes the dedupe key."""
    offset = timedelta(minutes=offset_minutes)
    written = instant.astimezone(UTC).replace(tzinfo=None) + offset
    sign = "-" if offset_minutes < 0 else "+"
    hours, minutes = divmod(abs(offset_minutes), 60)
    raw = f"{written.isoformat()}{sign}{hours:02}:{minutes:02}"
    identity = canonicalize(BASE_IDENTITY)

    spelled = parse_instant(raw, now=NOW)
    zulu = parse_instant(instant.strftime("%Y-%m-%dT%H:%M:%S.%fZ"), now=NOW)

    assert dedupe_key(WORKSPACE, "t", "s", identity, spelled) == dedupe_key(
        WORKSPACE, "t", "s", identity, zulu
    )
