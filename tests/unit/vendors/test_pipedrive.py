"""Pipedrive person webhooks."""

from __future__ import annotations

from ingest_gateway.vendors import pipedrive
from tests.unit.vendors.contract import assert_contract, load


def test_added_person_is_a_person_added_event() -> None:
    """The added-person webhook is a custom_event keyed by person and event time."""
    [body] = pipedrive.to_signals(load("pipedrive", "user-webhook-update.json"))

    assert_contract(body, "pipedrive")
    assert (body["signal_type"], body["event_name"]) == ("custom_event", "person_added")
    assert body["identity"] == {"email": "timmy@theco.com", "first_name": "Tim"}
    assert body["occurred_at"] == "2018-04-11T09:50:13+00:00"
    assert body["idempotency_key"] == "pipedrive:person_added:1:1523440213384700"


def test_other_objects_map_to_nothing() -> None:
    """A deal webhook carries no person email, so it gives []."""
    payload = load("pipedrive", "user-webhook-update.json")
    payload["meta"]["object"] = "deal"

    assert pipedrive.to_signals(payload) == []
