"""The keys and ids derived from a signal: dedupe key, capture id, lead ids.

They are computed by the gateway (the Kafka key and the capture id it answers with)
and again by the processor (for leads, and for messages old clients produced straight
to Kafka), so they are pure functions of canonical values. Changing any of them
re-keys every stored record: bump the version tag in the hashed text instead of
editing it in place.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Mapping
from datetime import datetime
from json.encoder import encode_basestring as _encode_string
from typing import Final

from schemas.identity import CanonicalIdentity, IdentityError, canonical_domain
from schemas.instant import epoch_micros

# The namespace of every uuid5 this project derives. Fixed forever: changing it
# would change every capture, lead and account id.
NAMESPACE: Final = uuid.UUID("ba488da9-de08-4a0e-8114-3e90972c678c")

_SIGNAL_KEY_VERSION: Final = "signal/v1"
_IDEMPOTENCY_KEY_VERSION: Final = "idempotency/v1"


# Reused, so each key does not build an encoder; settings are part of the contract.
_COMPACT = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))
_CANONICAL = json.JSONEncoder(
    ensure_ascii=False, allow_nan=False, sort_keys=True, separators=(",", ":")
)
_UUID_NAMESPACE_HASH: Final = hashlib.sha1(NAMESPACE.bytes, usedforsecurity=False)


def _json_array(parts: list[str | int | None]) -> str:
    """The compact JSON text of ``parts``, exactly as ``_COMPACT`` writes it.

    Keys hash a handful of strings, ints and nulls; spelling those out directly
    skips the general encoder, which costs more than the hash itself.
    """
    texts = []
    for part in parts:
        if part is None:
            texts.append("null")
        elif type(part) is str:
            texts.append(_encode_string(part))
        elif type(part) is int:
            texts.append(int.__repr__(part))
        else:
            return _COMPACT.encode(parts)
    return "[" + ",".join(texts) + "]"


def _digest(parts: list[str | int | None]) -> str:
    """The sha256 hex of a JSON array, which separates the parts unambiguously."""
    return hashlib.sha256(_json_array(parts).encode("utf-8")).hexdigest()


def _uuid(parts: list[str | int | None]) -> str:
    """A uuid5 under the project namespace over the JSON text of ``parts``.

    The same text ``uuid.uuid5`` produces, built without the UUID object.
    """
    sha1 = _UUID_NAMESPACE_HASH.copy()
    sha1.update(_json_array(parts).encode("utf-8"))
    raw = bytearray(sha1.digest()[:16])
    raw[6] = (raw[6] & 0x0F) | 0x50
    raw[8] = (raw[8] & 0x3F) | 0x80
    hexed = raw.hex()
    return f"{hexed[:8]}-{hexed[8:12]}-{hexed[12:16]}-{hexed[16:20]}-{hexed[20:]}"


def dedupe_key(
    workspace_id: str,
    signal_type: str,
    source: str,
    identity: CanonicalIdentity,
    occurred_at: datetime,
) -> str:
    """The key that makes one event, however spelled, one capture.

    Hashes the workspace, type, source, the canonical email, LinkedIn profile and
    company domain, and the instant in UTC microseconds. Names and title are left
    out: they describe the person, they do not identify the event. The readable
    workspace prefix keeps keys of two workspaces apart and lets an operator filter
    a topic by tenant.
    """
    digest = _digest(
        [
            _SIGNAL_KEY_VERSION,
            workspace_id,
            signal_type,
            source,
            identity.email,
            identity.linkedin_url,
            identity.company_domain,
            epoch_micros(occurred_at),
        ]
    )
    return f"{workspace_id}:sig:{digest}"


def idempotency_dedupe_key(workspace_id: str, idempotency_key: str) -> str:
    """The dedupe key of an event that carries a caller-chosen idempotency key.

    Scoped to the workspace only, not to the source: the same key sent from another
    source is the same event, a replay when the body matches and a conflict naming
    ``idempotency_key`` when it does not. The ``idem`` tag keeps these keys apart
    from tuple keys, so a caller cannot pick a key that collides with one.
    """
    digest = _digest([_IDEMPOTENCY_KEY_VERSION, workspace_id, idempotency_key])
    return f"{workspace_id}:idem:{digest}"


def capture_id(dedupe_key: str) -> str:
    """The capture id of an event: every replay of it gets the same one."""
    return _uuid(["capture", dedupe_key])


def account_id(workspace_id: str, domain: str) -> str:
    """The id of the account (company) lead for a domain in a workspace.

    The domain is canonicalized again (a no-op on canonical input) so that a caller
    passing a raw domain cannot split one company in two.
    """
    return _uuid(["account", workspace_id, canonical_domain(domain)])


def lead_id(workspace_id: str, identity: CanonicalIdentity) -> tuple[str, str]:
    """The lead a signal attaches to and its kind, ``person`` or ``account``.

    A person when an email or LinkedIn profile is known, else the account of the
    company domain.
    """
    person_key = identity.person_key()
    if person_key is not None:
        return _uuid(["person", workspace_id, person_key]), "person"

    if identity.company_domain is not None:
        return account_id(workspace_id, identity.company_domain), "account"

    raise IdentityError(
        "identity", "needs at least one of email, linkedin_url, company_domain"
    )


def body_fingerprint(body: Mapping[str, object]) -> str:
    """The sha256 hex of a signal body, to tell a changed body under a reused key.

    The body is the parsed JSON as sent, without ``idempotency_key``, written as
    canonical JSON (sorted keys, no whitespace, integers exact). Spelling is
    significant on purpose: a retry resends the same body, so any difference means
    the caller reused a key for another event. Raises ValueError for values JSON
    cannot hold exactly (NaN, infinities), which the gateway refuses before this.
    """
    fields = body
    if "idempotency_key" in body or type(body) is not dict:
        fields = {k: v for k, v in body.items() if k != "idempotency_key"}
    text = _CANONICAL.encode(fields)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()
