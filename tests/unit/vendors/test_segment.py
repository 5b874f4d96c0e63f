"""Segment messages: type choice, identity rules, timestamps and keys."""

from __future__ import annotations

import copy
from datetime import UTC, datetime

from ingest_gateway.vendors import segment
from tests.unit.vendors.contract import assert_contract, load, payload_files

RECEIVED = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)


def _with_email(payload: dict[str, object]) -> dict[str, object]:
    enriched = copy.deepcopy(payload)
    context = enriched.setdefault("context", {})
    assert isinstance(context, dict)
    context["traits"] = {"email": "visitor@initech.com"}
    return enriched


def test_fixture_set_yields_contract_bodies() -> None:
    """The 50 Spec examples give 5 timed signals, 14 with a receipt time, all valid."""
    timed, received = [], []
    for path in payload_files("segment"):
        payload = load("segment", path.name)
        timed += segment.to_signals(payload)
        received += segment.to_signals(payload, received_at=RECEIVED)

    for body in received:
        assert_contract(body, "segment")
    assert (len(timed), len(received)) == (5, 14)


def test_pricing_page_is_pricing_page_visit() -> None:
    """A page call on /pricing from a known visitor is a pricing_page_visit."""
    payload = _with_email(
        load("segment", "connections_destinations_catalog_webhooks__00_page.json")
    )

    [body] = segment.to_signals(payload)

    assert body["signal_type"] == "pricing_page_visit"
    assert body["context"]["properties"]["path"] == "/pricing"
    assert body["occurred_at"] == "2012-12-02T00:30:08.276000+00:00"


def test_other_page_is_website_visit() -> None:
    """A page call elsewhere is a website_visit named after the page."""
    payload = _with_email(load("segment", "connections_spec_page__01_page.json"))

    [body] = segment.to_signals(payload)

    assert (body["signal_type"], body["event_name"]) == ("website_visit", "Home")


def test_demo_requested_is_demo_request() -> None:
    """A track "Demo Requested" maps to the built-in demo_request type."""
    payload = _with_email(
        load("segment", "connections_spec_track__01_track_course_clicked.json")
    )
    payload["event"] = "Demo Requested"

    [body] = segment.to_signals(payload)

    assert (
        body["signal_type"],
        body["event_name"],
    ) == ("demo_request", "Demo Requested")


def test_unknown_track_is_custom_event_with_its_name() -> None:
    """An event outside the table keeps its name as event_name on a custom_event."""
    payload = _with_email(
        load("segment", "connections_spec_track__01_track_course_clicked.json")
    )

    [body] = segment.to_signals(payload)

    assert (
        body["signal_type"],
        body["event_name"],
    ) == ("custom_event", "Course Clicked")


def test_signed_up_drops_honorific_title() -> None:
    """Signed Up becomes signup with names from properties, and "Mr" is no job title."""
    payload = load("segment", "connections_spec_b2b-saas__02_track_signed_up.json")

    [body] = segment.to_signals(payload, received_at=RECEIVED)

    expected = {
        "email": "pgibbons@example.com",
        "first_name": "Peter",
        "last_name": "Gibbons",
    }
    assert expected == body["identity"]
    assert body["signal_type"] == "signup"


def test_identify_splits_name_and_keeps_traits_out_of_identity() -> None:
    """identify is a custom_event whose identity comes from traits.email and name."""
    payload = load("segment", "connections_spec_identify__01_identify.json")

    [body] = segment.to_signals(payload)

    assert body["identity"] == {
        "email": "peter@example.com",
        "first_name": "Peter",
        "last_name": "Gibbons",
    }
    assert (body["signal_type"], body["event_name"]) == ("custom_event", "identify")
    assert "email" not in body["context"]["traits"]


def test_anonymous_and_bookkeeping_calls_map_to_nothing() -> None:
    """No email, an alias, a delete, or a sender-side email fact gives []."""
    names = [
        "connections_spec_common__00_track_report_submitted.json",
        "connections_spec_alias__01_alias.json",
        "partners_spec__08_delete.json",
        "connections_spec_email__01_properties_email_delivered.json",
    ]

    results = [
        segment.to_signals(load("segment", n), received_at=RECEIVED) for n in names
    ]

    assert results == [[], [], [], []]


def test_missing_timestamp_without_receipt_time_is_skipped() -> None:
    """A message without any time is not given a made-up one."""
    payload = load("segment", "connections_spec_identify__00_identify.json")

    assert segment.to_signals(payload) == []


def test_retry_keeps_the_idempotency_key() -> None:
    """A redelivery (new sentAt/receivedAt) carries the same key as the original."""
    payload = load("segment", "partners_spec__01_identify.json")
    retry = copy.deepcopy(payload)
    retry["sentAt"] = retry["receivedAt"] = "2019-06-21T16:40:00.000Z"

    [first], [second] = segment.to_signals(payload), segment.to_signals(retry)

    assert first["idempotency_key"] == second["idempotency_key"]
    assert first["idempotency_key"].startswith("segment:identify:97980cfea0067:ajs-")


def test_reused_message_ids_of_different_people_do_not_collide() -> None:
    """Two Spec examples share a messageId; the person keeps their keys apart."""
    one = segment.to_signals(
        load("segment", "connections_spec_identify__01_identify.json")
    )
    two = segment.to_signals(
        load("segment", "partners_subscriptions_build-webhook__00_identify.json")
    )

    assert one[0]["idempotency_key"] != two[0]["idempotency_key"]


def test_invite_sent_names_the_account_by_invitee_domain() -> None:
    """Invite Sent without the inviter's email identifies the company by domain."""
    payload = load("segment", "connections_spec_b2b-saas__05_track_invite_sent.json")

    [body] = segment.to_signals(payload, received_at=RECEIVED)

    assert (
        body["signal_type"],
        body["identity"],
    ) == ("teammate_invited", {"company_domain": "example.com"})
    assert "invitee_email" not in body["context"]["properties"]
