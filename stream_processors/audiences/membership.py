"""Turning verdicts into membership changes: who entered, who left, and why.

The agent is the only writer of a lead's membership (the by-lead topic gives each
lead one partition and so one worker), and membership lives in the lead's state, so
an audience announces each entry once whether the lead arrived live, by a timer
tick or by a backfill seed.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from stream_processors.audiences.definitions import compiled
from stream_processors.audiences.evaluate import evaluate, micros, next_change
from stream_processors.audiences.state import facts

DELETED_REASON = "the audience was deleted"


def decide(
    state: dict[str, Any],
    audiences: Iterable[Mapping[str, Any]],
    now: datetime,
    cause: str,
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Re-evaluate every audience of the lead's workspace; return state and events.

    ``cause`` (a capture id, a tick or a seed) goes into each event id, so a replay
    of the same input after a crash produces the same ids for subscribers to drop.
    """
    members: dict[str, Any] = dict(state.get("members") or {})
    seen = facts(state)
    events: list[dict[str, Any]] = []
    due: list[datetime] = []
    defined: set[str] = set()

    for audience in audiences:
        audience_id = audience["audience_id"]
        defined.add(audience_id)
        condition = compiled(audience["condition"])
        verdict = evaluate(condition, seen, now)
        upcoming = next_change(condition, seen, now)
        if upcoming is not None:
            due.append(upcoming)

        current = members.get(audience_id)
        if verdict.holds and current is None:
            members[audience_id] = {
                "version": audience["version"],
                "since": micros(now),
                "reason": verdict.reason,
            }
            events.append(
                _event(state, audience, "entered", verdict.reason, now, cause)
            )
        elif not verdict.holds and current is not None:
            del members[audience_id]
            events.append(_event(state, audience, "left", verdict.reason, now, cause))
        elif current is not None:
            current = {**current, "version": audience["version"]}
            members[audience_id] = current

    for gone in set(members) - defined:
        del members[gone]

    updated = {**state, "members": members}
    updated["due_at"] = micros(min(due)) if due else None
    return updated, events


def _event(
    state: Mapping[str, Any],
    audience: Mapping[str, Any],
    change: str,
    reason: str,
    now: datetime,
    cause: str,
) -> dict[str, Any]:
    lead_id = state["lead"]["lead_id"]
    identity = "|".join(
        (audience["audience_id"], str(audience["version"]), lead_id, change, cause)
    )
    return {
        "event_id": hashlib.sha256(identity.encode()).hexdigest()[:32],
        "workspace_id": state["workspace_id"],
        "audience_id": audience["audience_id"],
        "audience_name": audience["name"],
        "audience_version": int(audience["version"]),
        "lead_id": lead_id,
        "change": change,
        "member": change == "entered",
        "reason": reason,
        "changed_at": now,
        "cause": cause,
    }
