"""Calendly deliveries: bookings, cancellations, both webhook formats."""

from __future__ import annotations

import copy

from ingest_gateway.vendors import calendly
from tests.unit.vendors.contract import assert_contract, load, payload_files


def test_fixture_set_yields_one_valid_body_each() -> None:
    """Each of the three deliveries maps to exactly one valid body."""
    bodies = [
        calendly.to_signals(load("calendly", p.name)) for p in payload_files("calendly")
    ]

    for [body] in bodies:
        assert_contract(body, "calendly")
    assert [len(b) for b in bodies] == [1, 1, 1]


def test_invitee_created_is_meeting_booked() -> None:
    """invitee.created is meeting_booked at the booking time, named by the invitee."""
    [body] = calendly.to_signals(load("calendly", "webhook-invitee-created.json"))

    assert body["signal_type"] == "meeting_booked"
    assert body["identity"] == {"email": "betty@rei.com", "first_name": "Betty"}
    assert body["occurred_at"] == "2020-12-22T18:15:55.361675+00:00"


def test_invitee_canceled_is_a_named_custom_event() -> None:
    """invitee.canceled is a custom_event meeting_canceled at the cancel time."""
    [body] = calendly.to_signals(load("calendly", "webhook-invitee-canceled.json"))

    assert (
        body["signal_type"],
        body["event_name"],
    ) == ("custom_event", "meeting_canceled")
    assert body["occurred_at"] == "2020-12-22T18:16:59.628426+00:00"


def test_booking_and_cancel_of_one_invitee_have_distinct_stable_keys() -> None:
    """Keys differ between booking and cancel, and repeat on redelivery."""
    created = load("calendly", "webhook-invitee-created.json")
    canceled = load("calendly", "webhook-invitee-canceled.json")

    first = calendly.to_signals(created)[0]["idempotency_key"]
    again = calendly.to_signals(copy.deepcopy(created))[0]["idempotency_key"]
    cancel = calendly.to_signals(canceled)[0]["idempotency_key"]

    assert first == again
    assert first != cancel


def test_v2_body_without_event_name_reads_the_status() -> None:
    """The v2 sample without `event` is a booking because its status is active."""
    [body] = calendly.to_signals(
        load("calendly", "activepieces__calendly_invitee_created.json")
    )

    assert body["signal_type"] == "meeting_booked"


def test_capability_links_stay_out_of_the_context() -> None:
    """Cancel and reschedule URLs let anyone cancel; they never reach the body."""
    for path in payload_files("calendly"):
        [body] = calendly.to_signals(load("calendly", path.name))

        assert "calendly.com/cancellations" not in str(body)
        assert "calendly.com/reschedulings" not in str(body)


def test_invitee_without_email_maps_to_nothing() -> None:
    """A delivery whose invitee has no email gives [] rather than an error."""
    payload = load("calendly", "webhook-invitee-created.json")
    payload["payload"]["email"] = None

    assert calendly.to_signals(payload) == []
