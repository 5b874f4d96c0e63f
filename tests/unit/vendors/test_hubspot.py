"""HubSpot shapes: forms, v1 contacts, companies, email events, webhooks."""

from __future__ import annotations

from ingest_gateway.vendors import hubspot, signals_from_file
from tests.unit.vendors.contract import FIXTURES, assert_contract, load, payload_files

EXPECTED_COUNTS = {
    "activepieces__hubspot_new_company.json": 1,
    "activepieces__hubspot_new_contact_property_change.json": 1,
    "activepieces__hubspot_new_form_submission.json": 1,
    "get-companies-recent-modified.json": 1,
    "get-contacts-recently-updated.json": 4,
    "hubspot-email-events.json": 2,
    "post-companies-domains-companies.json": 2,
    "receive-company-deleted-webhook.json": 0,
    "receive-contact-deleted-webhook.json": 0,
    "receive-multiple-contact-deleted-webhook.json": 0,
}


def test_fixture_files_yield_the_expected_valid_bodies() -> None:
    """Every HubSpot fixture maps to its expected number of valid bodies."""
    counts = {}
    for path in payload_files("hubspot"):
        bodies = signals_from_file(path, "hubspot")
        for body in bodies:
            assert_contract(body, "hubspot")
        counts[path.name] = len(bodies)

    assert counts == EXPECTED_COUNTS


def test_form_submission_is_form_submit_at_epoch_millis() -> None:
    """A form submission keyed by label is form_submit at its millisecond time."""
    [body] = hubspot.to_signals(
        load("hubspot", "activepieces__hubspot_new_form_submission.json")
    )

    assert body["signal_type"] == "form_submit"
    assert body["identity"] == {
        "email": "john.doe@example.com",
        "first_name": "John",
        "last_name": "Doe",
    }
    assert body["occurred_at"] == "2024-12-26T12:42:01.730000+00:00"
    assert (
        body["idempotency_key"] == "hubspot:form:82800398-30af-48a0-942a-1d0623fce08c"
    )


def test_form_values_as_name_value_list_are_read() -> None:
    """The form-integrations list form ([{name, value}]) identifies the person too."""
    payload = {
        "conversionId": "c-1",
        "submittedAt": 1735216921730,
        "values": [
            {"name": "email", "value": "a@b.io"},
            {"name": "message", "value": "hi"},
        ],
    }

    [body] = hubspot.to_signals(payload)

    assert (
        body["identity"],
        body["context"]["fields"],
    ) == ({"email": "a@b.io"}, {"message": "hi"})


def test_contact_form_submissions_share_keys_with_form_events() -> None:
    """A v1 contact's submissions are form_submit keyed by conversion id."""
    contact = load("hubspot", "get-contacts-recently-updated.json")["contacts"][0]

    bodies = hubspot.to_signals(contact)

    forms = [b for b in bodies if b["signal_type"] == "form_submit"]
    assert [b["event_name"] for b in forms] == ["Download-Form", "Some Random Title"]
    assert (
        forms[0]["idempotency_key"]
        == "hubspot:form:d470d96f-e63e-42b6-8594-3ccd266af9be"
    )
    assert forms[0]["identity"]["email"] == "testingapis@hubspot.com"


def test_contact_property_change_carries_title_and_company_domain() -> None:
    """The v3 contact is contact_updated with job title and website domain."""
    [body] = hubspot.to_signals(
        load("hubspot", "activepieces__hubspot_new_contact_property_change.json")
    )

    assert (
        body["signal_type"],
        body["event_name"],
    ) == ("custom_event", "contact_updated")
    assert (
        body["identity"]["title"],
        body["identity"]["company_domain"],
    ) == ("Salesperson", "hubspot.com")


def test_company_without_domain_maps_to_nothing() -> None:
    """The second listed company has an empty domain and gives []."""
    companies = load("hubspot", "get-companies-recent-modified.json")["results"]

    assert [len(hubspot.to_signals(c)) for c in companies] == [1, 0]


def test_email_events_keep_only_recipient_actions() -> None:
    """OPEN and CLICK are email_engagement; SENT and PROCESSED are the sender's own."""
    events = load("hubspot", "hubspot-email-events.json")["events"]

    names = [b["event_name"] for e in events for b in hubspot.to_signals(e)]

    assert names == ["email_click", "email_open"]


def test_id_only_webhooks_map_to_nothing() -> None:
    """Deletion webhooks carry object ids only, so they give []."""
    events = load("hubspot", "receive-multiple-contact-deleted-webhook.json")

    assert [hubspot.to_signals(e) for e in events] == [[], []]


def test_email_property_change_webhook_is_mapped() -> None:
    """A contact.propertyChange of email names the contact and keys on the event."""
    event = dict(load("hubspot", "receive-contact-deleted-webhook.json")[0])
    event.update(
        subscriptionType="contact.propertyChange",
        propertyName="email",
        propertyValue="x@acme.io",
    )

    [body] = hubspot.to_signals(event)

    assert body["identity"] == {"email": "x@acme.io"}
    assert body["occurred_at"] == "2019-09-05T13:11:44.280000+00:00"


def test_fixture_folder_keeps_its_licenses() -> None:
    """The copied payloads travel with the upstream license files and manifest."""
    names = {p.name for p in (FIXTURES / "hubspot").iterdir()}

    assert {
        "LICENSE.activepieces.MIT",
        "LICENSE.hull-connectors.MIT",
        "_manifest.json",
    } <= names
