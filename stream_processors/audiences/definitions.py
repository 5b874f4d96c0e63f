"""Audience definitions as the compacted ``audience.definitions`` topic holds them.

A definition is versioned: every change of its condition bumps ``version``, and each
membership event names the version that decided it, so a subscriber can tell which
rule put a lead in.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

from stream_processors.audiences.language import Node, parse


def definition_key(workspace_id: str, audience_id: str) -> str:
    """The compacted topic's key: one slot per audience of a workspace."""
    return f"{workspace_id}/{audience_id}"


def new_definition(
    workspace_id: str,
    name: str,
    condition: str,
    notify_webhook: bool = False,
    previous: dict[str, Any] | None = None,
    now: datetime | None = None,
) -> dict[str, Any]:
    """A definition to publish; raises ``ConditionError`` for a bad condition.

    Redefining keeps the id and creation time and bumps the version, so the stream
    and the backfill can tell the new rule from the old.
    """
    parse(condition)
    moment = now or datetime.now(UTC)
    if previous is None:
        return {
            "workspace_id": workspace_id,
            "audience_id": str(uuid.uuid4()),
            "name": name,
            "condition": condition,
            "version": 1,
            "notify_webhook": notify_webhook,
            "created_at": moment,
            "updated_at": moment,
        }
    return {
        **previous,
        "condition": condition,
        "notify_webhook": notify_webhook,
        "version": int(previous["version"]) + 1,
        "updated_at": moment,
    }


@lru_cache(maxsize=4096)
def compiled(condition: str) -> Node:
    """The parsed condition, parsed once per distinct text."""
    return parse(condition)
