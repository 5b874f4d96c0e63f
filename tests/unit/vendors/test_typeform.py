"""Typeform responses: email answers, unfinished responses, webhook wrapper."""

from __future__ import annotations

from ingest_gateway.vendors import typeform
from tests.unit.vendors.contract import assert_contract, load


def test_responses_list_yields_the_two_with_email() -> None:
    """Of four listed responses, the two with an email answer become form_submit."""
    items = load("typeform", "example-form-responses.json")["items"]

    bodies = [body for item in items for body in typeform.to_signals(item)]

    for body in bodies:
        assert_contract(body, "typeform")
    emails = [b["identity"]["email"] for b in bodies]
    assert emails == ["lian1078@other.com", "sarahbsmith@example.com"]
    assert {"form_submit"} == {b["signal_type"] for b in bodies}


def test_token_is_the_idempotency_key() -> None:
    """The response token keys the signal, so a redelivered response is a replay."""
    item = load("typeform", "example-form-responses.json")["items"][0]

    [body] = typeform.to_signals(item)

    assert body["idempotency_key"] == "typeform:21085286190ffad1248d17c4135ee56f"


def test_answers_go_to_context_without_the_email() -> None:
    """Answers are kept by field ref; the email answer is identity, not context."""
    item = load("typeform", "example-form-responses.json")["items"][0]

    [body] = typeform.to_signals(item)

    answers = body["context"]["answers"]
    assert answers["my_custom_dropdown_reference"] == "Job opportunities"
    assert "lian1078@other.com" not in str(body["context"])


def test_unfinished_and_anonymous_responses_map_to_nothing() -> None:
    """The response with no answers and the one with no email both give []."""
    items = load("typeform", "example-form-responses.json")["items"]

    assert [typeform.to_signals(items[2]), typeform.to_signals(items[3])] == [[], []]


def test_webhook_body_uses_definition_title_and_names() -> None:
    """A form_response webhook is named by its form; named fields fill identity."""
    response = load("typeform", "activepieces__typeform_new_submission.json")
    response["definition"]["fields"].append({"id": "fn", "title": "First name"})
    response["answers"] += [
        {"type": "email", "email": "ana@acme.io", "field": {"id": "em"}},
        {"type": "text", "text": "Ana", "field": {"id": "fn"}},
    ]
    webhook = {
        "event_id": "01GQ",
        "event_type": "form_response",
        "form_response": response,
    }

    [body] = typeform.to_signals(webhook)

    assert body["identity"] == {"email": "ana@acme.io", "first_name": "Ana"}
    assert (
        body["event_name"],
        body["occurred_at"],
    ) == ("test2", "2023-01-29T20:52:37+00:00")


def test_sample_without_email_maps_to_nothing() -> None:
    """The Activepieces sample has only a choice answer, so it names nobody."""
    assert (
        typeform.to_signals(
            load("typeform", "activepieces__typeform_new_submission.json")
        )
        == []
    )
