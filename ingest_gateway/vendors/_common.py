"""Small helpers every vendor mapping shares: times, identities, compact context.

Vendors spell the same things many ways (epoch seconds, epoch millis, ISO strings
with or without an offset; emails in odd places; names in one field or two). These
helpers turn each spelling into the one form the Signals API accepts, and answer
None instead of raising, because a vendor feed must never stop on one odd value.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any, Final
from urllib.parse import urlsplit

MAX_CONTEXT_TEXT: Final = 300
MAX_CONTEXT_ITEMS: Final = 25
MAX_CONTEXT_DEPTH: Final = 3
MAX_KEY_LENGTH: Final = 160

# Epoch values above this are milliseconds: as seconds they would fall after 5138.
_MILLIS_THRESHOLD: Final = 100_000_000_000
# Placeholder dates such as Typeform's 0001-01-01 for unfinished responses.
_EARLIEST_YEAR: Final = 1971

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s.]+$")
_SECRET_KEY = re.compile(
    r"token|secret|password|passwd|api_?key|authorization|signature|cookie", re.I
)
# Honorifics arrive in "title" fields (Segment's Signed Up example has "Mr"); they
# are salutations, and a persona scorer would read them as job titles.
_HONORIFICS: Final = frozenset(
    {"mr", "mrs", "ms", "miss", "mx", "dr", "prof", "sir", "madam", "herr", "frau"}
)


def to_rfc3339(value: Any) -> str | None:
    """The instant as RFC 3339 in UTC, or None when it is missing or not a time."""
    instant = _to_datetime(value)
    if instant is None or instant.year < _EARLIEST_YEAR:
        return None
    return instant.astimezone(UTC).isoformat()


def _to_datetime(value: Any) -> datetime | None:
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, datetime):
        return value if value.tzinfo is not None else value.replace(tzinfo=UTC)
    if isinstance(value, int | float):
        return _from_epoch(float(value))
    if not isinstance(value, str) or not value.strip():
        return None

    text = value.strip()
    if re.fullmatch(r"\d+(\.\d+)?", text):
        return _from_epoch(float(text))
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None

    # Vendors that send a naive time (Pipedrive, Marketo) document it as UTC.
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


def _from_epoch(number: float) -> datetime | None:
    seconds = number / 1000 if number >= _MILLIS_THRESHOLD else number
    try:
        return datetime.fromtimestamp(seconds, tz=UTC)
    except (OverflowError, OSError, ValueError):
        return None


def first_time(*values: Any) -> str | None:
    """The first of the candidates that is a usable instant, as RFC 3339."""
    for value in values:
        instant = to_rfc3339(value)
        if instant is not None:
            return instant
    return None


def email_or_none(value: Any) -> str | None:
    """The value stripped when it looks like an email address, else None."""
    if not isinstance(value, str):
        return None
    text = value.strip()
    return text if _EMAIL.match(text) else None


def domain_from_url(value: Any) -> str | None:
    """The host of a website URL or bare domain, lowercased and without www."""
    if not isinstance(value, str) or not value.strip():
        return None

    text = value.strip()
    if "@" in text:
        return None
    host = urlsplit(text if "//" in text else "//" + text).hostname
    if not host or "." not in host:
        return None

    host = host.lower().rstrip(".")
    return host.removeprefix("www.")


def split_name(value: Any) -> tuple[str | None, str | None]:
    """First and last name from one display name; a single word is a first name."""
    if not isinstance(value, str) or not value.strip():
        return None, None
    parts = value.split(None, 1)
    return parts[0], (parts[1] if len(parts) > 1 else None)


def job_title(value: Any) -> str | None:
    """The value as a job title, refusing honorifics such as "Mr" or "Dr."."""
    text = text_or_none(value)
    if text is None or text.rstrip(".").lower() in _HONORIFICS:
        return None
    return text


def text_or_none(value: Any) -> str | None:
    """A non-blank string stripped, else None (numbers and objects are not names)."""
    if not isinstance(value, str) or not value.strip():
        return None
    return value.strip()[:MAX_CONTEXT_TEXT]


def make_identity(
    *,
    email: Any = None,
    company_domain: Any = None,
    linkedin_url: Any = None,
    first_name: Any = None,
    last_name: Any = None,
    title: Any = None,
) -> dict[str, str] | None:
    """The identity object, or None when it has none of the fields the API needs."""
    identity = {
        "email": email_or_none(email),
        "linkedin_url": text_or_none(linkedin_url),
        "company_domain": domain_from_url(company_domain),
        "first_name": text_or_none(first_name),
        "last_name": text_or_none(last_name),
        "title": job_title(title),
    }
    present = {key: value for key, value in identity.items() if value is not None}
    if not present.keys() & {"email", "linkedin_url", "company_domain"}:
        return None
    return present


def compact(value: Any, depth: int = 0) -> Any:
    """A bounded copy for `context`: no empties, no secret-named keys, short text.

    Context is stored with every capture and read by audience conditions, so it
    keeps what a rule could use and never the vendor's whole payload.
    """
    if isinstance(value, str):
        return value if len(value) <= MAX_CONTEXT_TEXT else value[:MAX_CONTEXT_TEXT]
    if isinstance(value, Mapping):
        if depth >= MAX_CONTEXT_DEPTH:
            return None
        return _compact_mapping(value, depth)
    if isinstance(value, list | tuple):
        if depth >= MAX_CONTEXT_DEPTH:
            return None
        items = [compact(item, depth + 1) for item in value[:MAX_CONTEXT_ITEMS]]
        return [item for item in items if not _empty(item)]
    return value


def _compact_mapping(value: Mapping[Any, Any], depth: int) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, item in value.items():
        if len(result) >= MAX_CONTEXT_ITEMS:
            break
        name = str(key)
        if _SECRET_KEY.search(name):
            continue
        kept = compact(item, depth + 1)
        if not _empty(kept):
            result[name] = kept
    return result


def _empty(value: Any) -> bool:
    return value is None or value == "" or value == [] or value == {}


def pick(source: Any, *keys: str) -> dict[str, Any]:
    """The named keys of a mapping that are present, for building a context."""
    if not isinstance(source, Mapping):
        return {}
    return {key: source[key] for key in keys if key in source}


def make_key(vendor: str, *parts: Any) -> str | None:
    """An idempotency key from the vendor's own ids; None when an id is missing.

    Long keys (URIs) are hashed so that every key fits the API's text limit while
    a vendor retry still produces the same key.
    """
    if any(part is None or part == "" for part in parts):
        return None
    key = ":".join([vendor, *(str(part) for part in parts)])
    if len(key) <= MAX_KEY_LENGTH:
        return key
    digest = hashlib.sha256(key.encode("utf-8")).hexdigest()
    return vendor + ":sha256:" + digest


def make_signal(
    *,
    signal_type: str,
    source: str,
    occurred_at: str,
    identity: dict[str, str],
    event_name: str | None = None,
    context: Mapping[str, Any] | None = None,
    idempotency_key: str | None = None,
) -> dict[str, Any]:
    """One Signals API body, leaving out the optional fields that have no value."""
    body: dict[str, Any] = {
        "signal_type": signal_type,
        "source": source,
        "occurred_at": occurred_at,
        "identity": identity,
    }
    if event_name:
        body["event_name"] = event_name[:MAX_CONTEXT_TEXT]
    kept = compact(context) if context is not None else None
    if kept:
        body["context"] = kept
    if idempotency_key:
        body["idempotency_key"] = idempotency_key
    return body


def mappings(values: Any) -> Iterable[Mapping[str, Any]]:
    """The items of a list that are JSON objects, skipping anything else."""
    if not isinstance(values, list):
        return []
    return [item for item in values if isinstance(item, Mapping)]


def as_mapping(value: Any) -> Mapping[str, Any]:
    """The value when it is a JSON object, else an empty one, for safe lookups."""
    return value if isinstance(value, Mapping) else {}
