"""Idempotent writes of audience definitions and membership changes.

Membership events are state, not deltas: each carries the membership after the
change, so applying a lead's events in topic order (the topic is keyed by lead)
converges on the right row however often a batch is replayed.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import psycopg

UPSERT_MEMBER = """
INSERT INTO audience_members AS m (
    audience_id, lead_id, workspace_id, member, audience_version, reason,
    entered_at, left_at, changed_at, last_event_id
) VALUES (
    %(audience_id)s, %(lead_id)s, %(workspace_id)s, %(member)s,
    %(audience_version)s, %(reason)s,
    CASE WHEN %(member)s THEN %(changed_at)s END,
    CASE WHEN NOT %(member)s THEN %(changed_at)s END,
    %(changed_at)s, %(event_id)s
)
ON CONFLICT (audience_id, lead_id) DO UPDATE SET
    member = EXCLUDED.member,
    audience_version = EXCLUDED.audience_version,
    reason = EXCLUDED.reason,
    entered_at = CASE WHEN EXCLUDED.member THEN EXCLUDED.changed_at
        ELSE m.entered_at END,
    left_at = CASE WHEN EXCLUDED.member THEN NULL ELSE EXCLUDED.changed_at END,
    changed_at = EXCLUDED.changed_at,
    last_event_id = EXCLUDED.last_event_id,
    updated_at = now()
"""

INSERT_EVENT = """
INSERT INTO audience_membership_events (
    event_id, workspace_id, audience_id, audience_version, lead_id, change,
    reason, cause, changed_at
) VALUES (
    %(event_id)s, %(workspace_id)s, %(audience_id)s, %(audience_version)s,
    %(lead_id)s, %(change)s, %(reason)s, %(cause)s, %(changed_at)s
)
ON CONFLICT (event_id) DO NOTHING
"""

UPSERT_AUDIENCE = """
INSERT INTO audiences (
    audience_id, workspace_id, name, condition, version, notify_webhook,
    created_at, updated_at
) VALUES (
    %(audience_id)s, %(workspace_id)s, %(name)s, %(condition)s, %(version)s,
    %(notify_webhook)s, %(created_at)s, %(updated_at)s
)
ON CONFLICT (audience_id) DO UPDATE SET
    name = EXCLUDED.name, condition = EXCLUDED.condition,
    version = EXCLUDED.version, notify_webhook = EXCLUDED.notify_webhook,
    updated_at = EXCLUDED.updated_at, deleted_at = NULL
WHERE audiences.version <= EXCLUDED.version
"""

DELETE_AUDIENCE = """
UPDATE audiences SET deleted_at = now() WHERE audience_id = %(audience_id)s
"""
DELETE_MEMBERS = "DELETE FROM audience_members WHERE audience_id = %(audience_id)s"


def store_changes(
    conn: psycopg.Connection[Any],
    changes: Sequence[dict[str, Any]],
    definitions: Sequence[tuple[str, dict[str, Any] | None]],
) -> None:
    """Apply definitions, then membership changes, in topic order, in one commit.

    ``definitions`` pairs each compacted key (``workspace/audience``) with its value
    or None for a deletion.
    """
    with conn.transaction(), conn.cursor() as cursor:
        for key, definition in definitions:
            if definition is None:
                audience_id = {"audience_id": key.rpartition("/")[2]}
                cursor.execute(DELETE_AUDIENCE, audience_id)
                cursor.execute(DELETE_MEMBERS, audience_id)
            else:
                cursor.execute(UPSERT_AUDIENCE, definition)
        for change in changes:
            cursor.execute(UPSERT_MEMBER, change)
            cursor.execute(INSERT_EVENT, change)
