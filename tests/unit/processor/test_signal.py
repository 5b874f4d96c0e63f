"""The pure core: a raw signal to its record, reply and webhook."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from schemas import keys
from schemas.identity import canonicalize
from stream_processors.signal import company_domain, process_signal, reply_for
from tests.unit.processor.helpers import WORKSPACE_ID, raw_signal, workspace

NOW = datetime(2024, 5, 1, 12, 1, tzinfo=UTC)
STRIPE = {"domain": "example.com", "name": "Example", "employees": 5000}


def no_companies(_domain: str) -> dict[str, Any] | None:
    return None


def test_record_carries_the_capture_and_the_canonical_identity() -> None:
    """The record keeps the ids of the raw signal and the canonical identity."""
    raw = raw_signal()

    outcome = process_signal(raw, workspace(), no_companies, NOW)

    record = outcome.record
    expected_lead, kind = keys.lead_id(WORKSPACE_ID, canonicalize(raw["identity"]))
    assert record["capture_id"] == raw["capture_id"]
    assert record["lead_id"] == expected_lead
    assert kind == record["lead_kind"] == "person"
    assert record["identity_normalized"]["email"] == "jane.doe@example.com"
    assert record["processed_at"] == NOW


def test_builtin_autoqualified_type_gets_a_versioned_qualification() -> None:
    """A built-in type is qualified, and the result names its rules version."""
    outcome = process_signal(raw_signal(), workspace(), no_companies, NOW)

    qualification = outcome.record["qualification"]
    assert qualification is not None
    assert qualification["rules_version"]
    assert outcome.reply["qualification"] == qualification


def test_autoqualify_off_leaves_qualification_null() -> None:
    """A custom type with autoqualify off is stored without a qualification."""
    config = workspace()
    config["custom_signal_types"][0]["autoqualify"] = False
    raw = raw_signal(signal_type="teammate_invited")

    outcome = process_signal(raw, config, no_companies, NOW)

    assert outcome.record["qualification"] is None
    assert outcome.reply["qualification"] is None


def test_sub_rules_put_the_event_in_its_bucket() -> None:
    """A custom type's sub-rules bucket the event by its context."""
    raw = raw_signal(
        signal_type="teammate_invited", context_json=json.dumps({"team_size": 14})
    )

    outcome = process_signal(raw, workspace(), no_companies, NOW)

    assert outcome.record["bucket"] == "big_team"


def test_company_is_looked_up_by_domain() -> None:
    """The company of the identity's domain is attached to the record."""
    outcome = process_signal(
        raw_signal(), workspace(), {"example.com": STRIPE}.get, NOW
    )

    assert outcome.record["company"] == STRIPE


def test_webhook_has_a_stable_id_and_only_when_enabled() -> None:
    """The webhook id derives from the capture; a disabled endpoint gets none."""
    raw = raw_signal()
    disabled = workspace(
        webhook={"url": "https://h.example.com", "secrets": [], "enabled": False}
    )

    sent = process_signal(raw, workspace(), no_companies, NOW).webhook
    silent = process_signal(raw, disabled, no_companies, NOW).webhook

    assert sent is not None
    assert sent["webhook_id"] == f"msg_{raw['capture_id']}"
    assert (
        json.loads(sent["payload_json"])["data"]["signal_capture_id"]
        == (raw["capture_id"])
    )
    assert silent is None


def test_work_email_gives_the_company_domain() -> None:
    """Without a stated domain, a work email's domain names the company."""
    identity = canonicalize({"email": "ana@acme.io"})

    assert company_domain(identity) == "acme.io"


def test_reply_defaults_to_captured() -> None:
    """A first capture's reply has the status captured and no detail."""
    reply = reply_for("c1", WORKSPACE_ID, "lead-1", None)

    assert (reply["status"], reply["detail"]) == ("captured", None)
