"""The per-lead state the audience agent keeps: facts, recent signals, membership.

State is a plain JSON document because it lives in a Faust table whose changelog
must stay readable by any later version of the worker. Signals older than the
longest window, and all but the newest ``max_signals``, are dropped, so a lead that
fires thousands of events costs a bounded amount of memory.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any, Final

from stream_processors.audiences.evaluate import LeadFacts, micros
from stream_processors.audiences.language import MAX_WINDOW

MAX_SIGNALS: Final = 200

LEAD_FIELDS: Final = (
    "icp_code",
    "icp_score",
    "persona_code",
    "persona_score",
)
IDENTITY_FIELDS: Final = ("title", "company_domain", "first_name", "last_name")


def signal_of(record: Mapping[str, Any]) -> dict[str, Any]:
    """The facts of one record a condition can read as ``signals.<field>``."""
    context = None
    if record.get("context_json"):
        try:
            context = json.loads(record["context_json"])
        except json.JSONDecodeError:
            context = None
    return {
        "capture_id": record["capture_id"],
        "occurred_at": _as_micros(record["occurred_at"]),
        "signal_type": record["signal_type"],
        "source": record["source"],
        "event_name": record.get("event_name"),
        "bucket": record.get("bucket"),
        "context": context,
    }


def lead_of(record: Mapping[str, Any]) -> dict[str, Any]:
    """The lead fields one record knows; qualification only when it carries one."""
    identity = record.get("identity_normalized") or {}
    lead: dict[str, Any] = {
        "lead_id": record["lead_id"],
        "kind": record.get("lead_kind"),
        **{name: identity.get(name) for name in IDENTITY_FIELDS},
    }
    qualification = record.get("qualification")
    if qualification:
        lead.update({name: qualification.get(name) for name in LEAD_FIELDS})
    return {k: v for k, v in lead.items() if v is not None}


def observation(record: Mapping[str, Any]) -> dict[str, Any]:
    """The message the processor sends for one record, keyed by its lead."""
    return {
        "kind": "record",
        "workspace_id": record["workspace_id"],
        "lead_id": record["lead_id"],
        "lead": lead_of(record),
        "company": record.get("company"),
        "signals": [signal_of(record)],
        "cause": record["capture_id"],
    }


def tick(workspace_id: str, lead_id: str, cause: str) -> dict[str, Any]:
    """A request to re-evaluate a lead now, with no new facts."""
    return {
        "kind": "tick",
        "workspace_id": workspace_id,
        "lead_id": lead_id,
        "cause": cause,
    }


def empty_state(workspace_id: str, lead_id: str) -> dict[str, Any]:
    """A lead the agent has never seen."""
    return {
        "workspace_id": workspace_id,
        "lead": {"lead_id": lead_id},
        "company": None,
        "signals": [],
        "members": {},
        "due_at": None,
    }


def merge(
    state: Mapping[str, Any] | None,
    message: Mapping[str, Any],
    now: datetime,
    max_signals: int = MAX_SIGNALS,
) -> dict[str, Any]:
    """Fold a record, seed or tick into the lead's state; replays change nothing.

    Signals are identified by capture id, so a record seen both live and in a
    backfill seed is kept once.
    """
    merged = dict(state or empty_state(message["workspace_id"], message["lead_id"]))

    lead = dict(merged["lead"])
    lead.update(message.get("lead") or {})
    merged["lead"] = lead
    if message.get("company"):
        merged["company"] = message["company"]

    by_capture = {s["capture_id"]: s for s in merged["signals"]}
    for signal in message.get("signals") or ():
        by_capture[signal["capture_id"]] = signal

    horizon = micros(now - MAX_WINDOW)
    kept = [s for s in by_capture.values() if s["occurred_at"] > horizon]
    kept.sort(key=lambda s: (s["occurred_at"], s["capture_id"]))
    merged["signals"] = kept[-max_signals:]
    return merged


def facts(state: Mapping[str, Any]) -> LeadFacts:
    """What the evaluator sees of a state."""
    return LeadFacts(state["lead"], state.get("company"), state["signals"])


def _as_micros(value: Any) -> int:
    if isinstance(value, datetime):
        return micros(value)
    return int(value)
