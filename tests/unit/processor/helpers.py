"""Raw signals and workspaces as the gateway and the CLI would write them."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from schemas import keys
from schemas.identity import canonicalize

WORKSPACE_ID = "ws-processor-unit"
RECEIVED = datetime(2024, 5, 1, 12, 0, 5, tzinfo=UTC)
OCCURRED = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)

IDENTITY: dict[str, str | None] = {
    "email": "Jane.Doe@Example.com",
    "linkedin_url": "https://www.linkedin.com/in/jane-doe-example",
    "company_domain": "example.com",
    "first_name": "Jane",
    "last_name": "Doe",
    "title": "VP of Marketing",
}


def workspace(**changes: Any) -> dict[str, Any]:
    """A workspace record with a webhook and a custom type with sub-rules."""
    sub_rules = [{"bucket": "big_team", "when": {"context.team_size": {"gt": 10}}}]
    config: dict[str, Any] = {
        "workspace_id": WORKSPACE_ID,
        "name": "unit",
        "api_key_hashes": [],
        "custom_signal_types": [
            {
                "key": "teammate_invited",
                "display_name": "Teammate invited",
                "description": "product",
                "autoqualify": True,
                "enabled": True,
                "sub_rules_json": json.dumps(sub_rules),
            }
        ],
        "disabled_signal_types": [],
        "qualification_rules_json": None,
        "webhook": {
            "url": "https://hooks.example.com/x",
            "secrets": ["s"],
            "enabled": True,
        },
        "rate_limit_per_minute": 500,
        "rate_limit_per_day": 50_000,
        "updated_at": RECEIVED,
    }
    config.update(changes)
    return config


def raw_signal(**changes: Any) -> dict[str, Any]:
    """A signal_raw value keyed exactly as the gateway keys it."""
    signal: dict[str, Any] = {
        "workspace_id": WORKSPACE_ID,
        "body_sha256": "0" * 64,
        "received_at": RECEIVED,
        "signal_type": "website_visit",
        "source": "web_tracker",
        "event_name": "pricing_page_viewed",
        "occurred_at": OCCURRED,
        "identity": dict(IDENTITY),
        "context_json": None,
        "idempotency_key": None,
    }
    signal.update(changes)
    dedupe_key = keys.dedupe_key(
        signal["workspace_id"],
        signal["signal_type"],
        signal["source"],
        canonicalize(signal["identity"]),
        signal["occurred_at"],
    )
    signal.setdefault("dedupe_key", dedupe_key)
    signal.setdefault("capture_id", keys.capture_id(signal["dedupe_key"]))
    return signal
