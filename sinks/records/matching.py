"""Attach each person signal to the lead that already holds its email or LinkedIn.

The processor derives a lead id from the identity alone (email first, LinkedIn
second), so a LinkedIn-only signal of someone first seen with an email gets an id
of its own. Here, inside the batch's transaction, that id is resolved against the
leads already stored: the capture attaches to the surviving lead, and the derived
id is recorded as an alias of it, so anyone holding the derived id can find it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import psycopg

# A transaction-scoped lock per workspace: two sink members matching the same new
# person at once would otherwise both create a lead. Locks are taken in sorted
# order so two batches never wait on each other in a cycle.
LOCK_WORKSPACE = "SELECT pg_advisory_xact_lock(hashtextextended(%s, 7411))"

FIND_LEADS = """
SELECT lead_id, workspace_id, email_normalized, linkedin_url, first_seen_at
  FROM leads WHERE lead_id = ANY(%(ids)s)
UNION
SELECT l.lead_id, l.workspace_id, l.email_normalized, l.linkedin_url,
       l.first_seen_at
  FROM leads l
  JOIN unnest(%(email_ws)s::text[], %(emails)s::text[]) AS k (ws, v)
    ON l.workspace_id = k.ws AND l.email_normalized = k.v
 WHERE l.kind = 'person' AND l.email_normalized IS NOT NULL
UNION
SELECT l.lead_id, l.workspace_id, l.email_normalized, l.linkedin_url,
       l.first_seen_at
  FROM leads l
  JOIN unnest(%(linkedin_ws)s::text[], %(linkedins)s::text[]) AS k (ws, v)
    ON l.workspace_id = k.ws AND l.linkedin_url = k.v
 WHERE l.kind = 'person' AND l.linkedin_url IS NOT NULL
"""

FIND_ALIASES = """
SELECT alias_lead_id, lead_id FROM lead_aliases WHERE alias_lead_id = ANY(%s)
"""

UPSERT_ALIAS = """
INSERT INTO lead_aliases (alias_lead_id, workspace_id, lead_id)
VALUES (%(alias)s, %(workspace_id)s, %(lead_id)s)
ON CONFLICT (alias_lead_id) DO UPDATE SET lead_id = EXCLUDED.lead_id
"""

# Keeps the table flat: whatever pointed at an absorbed lead now points at the
# survivor, so a read never has to follow a chain.
REPOINT_ALIASES = """
UPDATE lead_aliases SET lead_id = %(lead_id)s WHERE lead_id = %(alias)s
"""

IdentityKey = tuple[str, str]


@dataclass(frozen=True)
class StoredLead:
    """A person lead already in the database, as matching sees it."""

    lead_id: str
    workspace_id: str
    email: str | None
    linkedin_url: str | None


@dataclass
class Resolution:
    """Where each capture attaches, and the aliases that decision creates."""

    lead_of_capture: dict[str, str] = field(default_factory=dict)
    aliases: dict[str, tuple[str, str]] = field(default_factory=dict)
    absorbed: list[str] = field(default_factory=list)


def match_leads(
    records: Sequence[dict[str, Any]],
    stored: Iterable[StoredLead],
    stored_aliases: dict[str, str],
) -> Resolution:
    """Decide the surviving lead of every record; pure, so it is tested alone.

    Priority per person record: the lead its derived id already names (or is an
    alias of), then the lead holding its email, then the one holding its LinkedIn
    profile. When those are different leads, the later ones are absorbed into the
    first as aliases. Records are taken in activity order, so a batch resolves the
    same way as the same records stored one by one.
    """
    matcher = _Matcher(dict(stored_aliases))
    for lead in stored:
        matcher.register(lead.lead_id, lead.workspace_id, lead.email, lead.linkedin_url)

    resolution = Resolution()
    for record in sorted(records, key=lambda r: (r["occurred_at"], r["capture_id"])):
        lead_id = matcher.resolve(record, resolution)
        resolution.lead_of_capture[record["capture_id"]] = lead_id
    return resolution


class _Matcher:
    """The indexes of one batch's matching: ids, emails, profiles and aliases."""

    def __init__(self, aliases: dict[str, str]) -> None:
        self.aliases = aliases
        self.known: set[str] = set()
        self.by_email: dict[IdentityKey, str] = {}
        self.by_linkedin: dict[IdentityKey, str] = {}

    def root(self, lead_id: str) -> str:
        return self.aliases.get(lead_id, lead_id)

    def register(
        self, lead_id: str, workspace: str, email: str | None, linkedin: str | None
    ) -> None:
        self.known.add(lead_id)
        if email is not None:
            self.by_email.setdefault((workspace, email), lead_id)
        if linkedin is not None:
            self.by_linkedin.setdefault((workspace, linkedin), lead_id)

    def resolve(self, record: dict[str, Any], resolution: Resolution) -> str:
        derived = record["lead_id"]
        if record["lead_kind"] != "person":
            return str(derived)

        workspace = record["workspace_id"]
        normalized = record["identity_normalized"]
        email, linkedin = normalized.get("email"), normalized.get("linkedin_url")
        candidates = self._candidates(derived, workspace, email, linkedin)

        target = candidates[0] if candidates else derived
        for other in candidates[1:]:
            if other != target:
                self._alias(other, workspace, target, resolution)
                resolution.absorbed.append(other)
        if derived != target and self.aliases.get(derived) != target:
            self._alias(derived, workspace, target, resolution)

        self.register(target, workspace, email, linkedin)
        return str(target)

    def _candidates(
        self, derived: str, workspace: str, email: str | None, linkedin: str | None
    ) -> list[str]:
        found = []
        if derived in self.aliases or derived in self.known:
            found.append(self.root(derived))
        if email is not None and (workspace, email) in self.by_email:
            found.append(self.root(self.by_email[(workspace, email)]))
        if linkedin is not None and (workspace, linkedin) in self.by_linkedin:
            found.append(self.root(self.by_linkedin[(workspace, linkedin)]))
        return list(dict.fromkeys(found))

    def _alias(
        self, alias: str, workspace: str, target: str, resolution: Resolution
    ) -> None:
        for key, value in list(self.aliases.items()):
            if value == alias:
                self.aliases[key] = target
                resolution.aliases[key] = (workspace, target)
        self.aliases[alias] = target
        resolution.aliases[alias] = (workspace, target)


def resolve_leads(
    cursor: psycopg.Cursor[Any], records: Sequence[dict[str, Any]]
) -> Resolution:
    """Lock the batch's workspaces, read the leads it may match, and decide.

    Must run inside the transaction that stores the batch, so the locks cover the
    writes that follow.
    """
    for workspace in sorted({r["workspace_id"] for r in records}):
        cursor.execute(LOCK_WORKSPACE, (workspace,))

    people = [r for r in records if r["lead_kind"] == "person"]
    if not people:
        return match_leads(records, [], {})

    stored = _stored_leads(cursor, people)
    ids = sorted({r["lead_id"] for r in people} | {s.lead_id for s in stored})
    cursor.execute(FIND_ALIASES, (ids,))
    aliases = {str(row[0]): str(row[1]) for row in cursor.fetchall()}
    return match_leads(records, stored, aliases)


def save_aliases(cursor: psycopg.Cursor[Any], resolution: Resolution) -> None:
    """Write the aliases a resolution created and repoint those of absorbed leads."""
    for absorbed in resolution.absorbed:
        target = resolution.aliases[absorbed][1]
        cursor.execute(REPOINT_ALIASES, {"alias": absorbed, "lead_id": target})
    rows = [
        {"alias": alias, "workspace_id": workspace, "lead_id": target}
        for alias, (workspace, target) in sorted(resolution.aliases.items())
    ]
    if rows:
        cursor.executemany(UPSERT_ALIAS, rows)


def _stored_leads(
    cursor: psycopg.Cursor[Any], people: Sequence[dict[str, Any]]
) -> list[StoredLead]:
    emails = sorted(
        {
            (r["workspace_id"], r["identity_normalized"]["email"])
            for r in people
            if r["identity_normalized"].get("email")
        }
    )
    linkedins = sorted(
        {
            (r["workspace_id"], r["identity_normalized"]["linkedin_url"])
            for r in people
            if r["identity_normalized"].get("linkedin_url")
        }
    )
    cursor.execute(
        FIND_LEADS,
        {
            "ids": sorted({r["lead_id"] for r in people}),
            "email_ws": [w for w, _ in emails],
            "emails": [e for _, e in emails],
            "linkedin_ws": [w for w, _ in linkedins],
            "linkedins": [v for _, v in linkedins],
        },
    )
    # Oldest lead first, so when two hold the same key the earlier one wins.
    rows = sorted(cursor.fetchall(), key=lambda row: (row[4], row[0]))
    return [StoredLead(row[0], row[1], row[2], row[3]) for row in rows]
