"""The signal contract as test assertions, and access to the vendor fixtures."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

from schemas.signal_body import BODY_FIELDS, IDENTITY_FIELDS
from schemas.signal_types import BUILTIN_SIGNAL_TYPES

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "vendors"
MATCHABLE = {"email", "linkedin_url", "company_domain"}
LONGEST_TEXT = 300


def payload_files(vendor: str) -> list[Path]:
    """The payload files of one vendor's fixture folder (not licenses or manifest)."""
    folder = FIXTURES / vendor
    return sorted(p for p in folder.glob("*.json") if p.name != "_manifest.json")


def load(vendor: str, name: str) -> Any:
    """One fixture payload, parsed."""
    return json.loads((FIXTURES / vendor / name).read_text(encoding="utf-8"))


def assert_contract(body: dict[str, Any], source: str) -> None:
    """Fail unless the body is one the Signals API accepts, with sensible sizes."""
    assert set(body) <= BODY_FIELDS
    assert body["signal_type"] in BUILTIN_SIGNAL_TYPES
    assert body["source"] == source

    occurred = datetime.fromisoformat(body["occurred_at"])
    assert occurred.utcoffset() is not None

    identity = body["identity"]
    assert set(identity) <= set(IDENTITY_FIELDS)
    assert identity.keys() & MATCHABLE
    assert all(isinstance(v, str) and v.strip() for v in identity.values())

    assert isinstance(body.get("context", {}), dict)
    assert all(len(text) <= LONGEST_TEXT for text in _texts(body))
    assert "payload" not in body.get("context", {})


def _texts(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [t for k, v in value.items() for t in [str(k), *_texts(v)]]
    if isinstance(value, list):
        return [t for item in value for t in _texts(item)]
    return []
