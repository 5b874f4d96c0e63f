"""Canonical forms of the identifying fields of a signal.

The gateway keys Kafka messages and derives capture ids from these forms and the
processor attaches leads with them, so both must reduce every spelling of one person
or company to the same text. A value that has no faithful canonical form is refused
with the field it came from, never silently altered: altering it would change the key.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Final
from urllib.parse import unquote, urlsplit

import idna

EMAIL_FIELD: Final = "identity.email"
LINKEDIN_FIELD: Final = "identity.linkedin_url"
DOMAIN_FIELD: Final = "identity.company_domain"
IDENTIFYING_FIELDS: Final = ("email", "linkedin_url", "company_domain")
NAME_FIELDS: Final = ("first_name", "last_name", "title")

# Generous for any real value, small enough that one body cannot make IDNA and
# URL parsing do unbounded work.
MAX_TEXT_LENGTH: Final = 2048
MAX_LOCAL_PART_LENGTH: Final = 64
MAX_SLUG_LENGTH: Final = 200

GMAIL_DOMAINS: Final = frozenset({"gmail.com", "googlemail.com"})

# Mailbox providers whose domain says nothing about the sender's employer, so a
# personal address is never taken as the company.
FREE_EMAIL_DOMAINS: Final = frozenset(
    {
        "126.com",
        "163.com",
        "aol.com",
        "att.net",
        "comcast.net",
        "daum.net",
        "fastmail.com",
        "free.fr",
        "gmail.com",
        "gmx.com",
        "gmx.de",
        "gmx.net",
        "googlemail.com",
        "hey.com",
        "hotmail.co.uk",
        "hotmail.com",
        "hotmail.fr",
        "icloud.com",
        "laposte.net",
        "live.com",
        "mac.com",
        "mail.com",
        "mail.ru",
        "me.com",
        "msn.com",
        "naver.com",
        "orange.fr",
        "outlook.com",
        "outlook.de",
        "pm.me",
        "proton.me",
        "protonmail.com",
        "qq.com",
        "rediffmail.com",
        "sbcglobal.net",
        "t-online.de",
        "tutanota.com",
        "verizon.net",
        "web.de",
        "yahoo.co.uk",
        "yahoo.com",
        "yahoo.fr",
        "yandex.com",
        "yandex.ru",
        "ymail.com",
        "zoho.com",
    }
)

_SCHEME_PREFIX: Final = re.compile(r"^[a-z][a-z0-9+.\-]*://", re.ASCII)
_PORT: Final = re.compile(r"^[0-9]{0,5}$", re.ASCII)
_LINKEDIN_SUBDOMAIN: Final = re.compile(r"^[a-z0-9-]{1,63}$", re.ASCII)
_PUB_ID_PART: Final = re.compile(r"^[0-9a-z]{1,4}$", re.ASCII)
_LOCAL_PART_FORBIDDEN: Final = frozenset('"(),:;<>@[\\]')
_SLUG_FORBIDDEN: Final = frozenset("%/?#\\")
_HOST_END: Final = re.compile(r"[/?#]")
# In ASCII, whitespace and control characters are exactly these; the fast paths
# below use them and leave other text to the per-character Unicode check.
_ASCII_SPACE_OR_CONTROL: Final = re.compile(r"[\x00-\x20\x7f]")
_ASCII_LOCAL_PART_BAD: Final = re.compile(r'[\x00-\x20\x7f"(),:;<>@\[\\\]]')
_ASCII_SLUG_BAD: Final = re.compile(r"[\x00-\x20\x7f%/?#\\]")

# Domains, titles and the people of a feed repeat from signal to signal, so the
# canonical forms are memoized. Only values up to this length are kept, which
# bounds the memory a stream of long unique values can pin.
CACHED_TEXT_LENGTH: Final = 256
CACHE_SIZE: Final = 4096


class IdentityError(ValueError):
    """An identity value with no canonical form, naming the field a 400 must name."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


def text_problem(text: str) -> str | None:
    """Why ``text`` cannot be stored faithfully, or None when it can.

    NUL is refused by PostgreSQL text and jsonb, and a lone surrogate cannot be
    encoded as UTF-8 at all; the gateway uses this for context values too.
    """
    if "\x00" in text:
        return "must not contain NUL (\\u0000)"
    if text.isascii():
        return None

    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return "must not contain a lone surrogate"
    return None


def _require_text(raw: object, field: str) -> str:
    """Return ``raw`` as storable text or raise naming ``field``."""
    if not isinstance(raw, str):
        raise IdentityError(field, "must be a string")

    problem = text_problem(raw)
    if problem is not None:
        raise IdentityError(field, problem)

    if len(raw) > MAX_TEXT_LENGTH:
        raise IdentityError(field, f"must be at most {MAX_TEXT_LENGTH} characters")
    return raw


def _has_space_or_control(text: str) -> bool:
    """Tell whether ``text`` holds whitespace or a control character."""
    if text.isascii():
        return _ASCII_SPACE_OR_CONTROL.search(text) is not None
    return any(ch.isspace() or unicodedata.category(ch) == "Cc" for ch in text)


def _fold(text: str) -> str:
    """Lowercase in NFC on both sides, so folding twice changes nothing."""
    if text.isascii():
        return text.lower()
    return unicodedata.normalize("NFC", unicodedata.normalize("NFC", text).lower())


# Hosts repeat across signals (a company, a mail provider) and IDNA mapping is
# the costliest step of canonicalization, so results are memoized.
@functools.lru_cache(maxsize=8192)
def _ascii_host(host: str, field: str) -> str:
    """Reduce a host name to lowercase IDNA A-labels, refusing what is no domain.

    UTS 46 mapping (non-transitional, as browsers do) handles case, full-width
    forms and NFC, so Unicode and punycode spellings of a host meet.
    """
    if host.endswith("."):
        host = host[:-1]
    if not host:
        raise IdentityError(field, "must contain a domain name")

    try:
        ascii_host = idna.encode(host, uts46=True, transitional=False).decode("ascii")
    except (idna.IDNAError, UnicodeError) as error:
        raise IdentityError(field, f"is not a valid domain name ({error})") from error

    labels = ascii_host.split(".")
    if len(labels) < 2:
        raise IdentityError(field, "must be a domain name with at least two labels")
    if labels[-1].isdigit():
        raise IdentityError(field, "must be a domain name, not an IP address")
    return ascii_host


def canonical_email(raw: str) -> str:
    """The canonical form of an email address, the primary person key.

    Lowercased throughout and the domain in IDNA ASCII form. Gmail ignores dots and
    ``+tags`` in the local part and treats googlemail.com as gmail.com, so those
    collapse; other providers keep their local part as written (except for case),
    because for them ``jane.doe`` and ``janedoe`` may be two people.
    """
    return _email(_require_text(raw, EMAIL_FIELD))


def _email_of_text(raw: str) -> str:
    """``canonical_email`` of text already known to be storable."""
    text = raw.strip()

    local, at, domain = text.rpartition("@")
    if not at or not local or not domain:
        raise IdentityError(EMAIL_FIELD, "must look like local-part@domain")
    if local.isascii():
        bad = _ASCII_LOCAL_PART_BAD.search(local) is not None
    else:
        bad = _has_space_or_control(local) or bool(
            _LOCAL_PART_FORBIDDEN.intersection(local)
        )
    if bad:
        raise IdentityError(EMAIL_FIELD, "has characters not allowed in an address")

    domain = _ascii_host(domain.lower(), EMAIL_FIELD)
    local = _fold(local)
    if domain in GMAIL_DOMAINS:
        local = local.partition("+")[0].replace(".", "")
        domain = "gmail.com"

    if not local:
        raise IdentityError(EMAIL_FIELD, "has an empty local part")
    if len(local) > MAX_LOCAL_PART_LENGTH:
        raise IdentityError(EMAIL_FIELD, "has a local part longer than 64 characters")
    return f"{local}@{domain}"


def email_domain(email: str) -> str:
    """The domain part of a canonical email address."""
    return email.rpartition("@")[2]


def work_email_domain(email: str) -> str | None:
    """The company domain a canonical email points at, None for free mailboxes."""
    domain = email_domain(email)
    if domain in FREE_EMAIL_DOMAINS:
        return None
    return domain


def canonical_domain(raw: str) -> str:
    """The canonical company domain: the host, lowercased, in IDNA ASCII form.

    Callers paste URLs, hosts with ports and mixed case here, so scheme, userinfo,
    port, path, query, fragment and a trailing dot go. A leading ``www.`` goes only
    while two labels remain, so ``www.example`` stays itself. Subdomains other than
    ``www`` are kept: reducing to the registrable domain needs the Public Suffix
    List, which this project does not ship yet; it matters once feeds send hosts
    such as ``app.example.com`` for the company.
    """
    return _domain(_require_text(raw, DOMAIN_FIELD))


def _domain_of_text(raw: str) -> str:
    """``canonical_domain`` of text already known to be storable."""
    text = raw.strip().lower()

    text = _SCHEME_PREFIX.sub("", text, count=1).removeprefix("//")
    host = _HOST_END.split(text, maxsplit=1)[0].rpartition("@")[2]
    if host.startswith("["):
        raise IdentityError(DOMAIN_FIELD, "must be a domain name, not an IP address")
    host, _, port = host.partition(":")
    if not _PORT.match(port):
        raise IdentityError(DOMAIN_FIELD, "has an invalid port")

    ascii_host = _ascii_host(host, DOMAIN_FIELD)
    while ascii_host.startswith("www.") and ascii_host.count(".") >= 2:
        ascii_host = ascii_host[len("www.") :]
    return ascii_host


def _slug(segment: str) -> str:
    """The canonical form of one decoded LinkedIn path segment."""
    slug = _fold(segment)
    if slug.isascii():
        bad = _ASCII_SLUG_BAD.search(slug) is not None
    else:
        bad = bool(_SLUG_FORBIDDEN.intersection(slug)) or _has_space_or_control(slug)
    if bad:
        raise IdentityError(LINKEDIN_FIELD, "has characters not allowed in a profile")
    if len(slug) > MAX_SLUG_LENGTH:
        raise IdentityError(LINKEDIN_FIELD, "has a profile name that is too long")
    return slug


def _is_linkedin_host(host: str) -> bool:
    """Tell whether ``host`` is linkedin.com or one label below it (www, de, m)."""
    if host == "linkedin.com":
        return True

    subdomain, dot, parent = host.partition(".")
    return (
        bool(dot)
        and parent == "linkedin.com"
        and bool(_LINKEDIN_SUBDOMAIN.match(subdomain))
    )


def _linkedin_segments(text: str) -> list[str]:
    """The decoded, non-empty path segments of a LinkedIn URL on a LinkedIn host."""
    if not _SCHEME_PREFIX.match(text.lower()):
        text = "https://" + text.removeprefix("//")
    try:
        parts = urlsplit(text)
        _ = parts.port  # reading the port is what validates it
    except ValueError as error:
        raise IdentityError(LINKEDIN_FIELD, "is not a valid URL") from error

    if parts.scheme.lower() not in ("http", "https") or parts.username is not None:
        raise IdentityError(LINKEDIN_FIELD, "must be an http(s) LinkedIn URL")
    if not _is_linkedin_host((parts.hostname or "").removesuffix(".")):
        raise IdentityError(LINKEDIN_FIELD, "must be a linkedin.com URL")

    segments = []
    for raw_segment in parts.path.split("/"):
        try:
            segment = unquote(raw_segment, errors="strict")
        except UnicodeDecodeError as error:
            raise IdentityError(
                LINKEDIN_FIELD, "has invalid percent-encoding"
            ) from error
        if segment in (".", "..") or "/" in segment:
            raise IdentityError(LINKEDIN_FIELD, "must not contain path traversal")
        if segment:
            segments.append(segment)
    return segments


def canonical_linkedin(raw: str) -> str:
    """The canonical URL of a LinkedIn personal profile, the fallback person key.

    Every spelling of one profile (scheme, country or www host, trailing slash,
    query, fragment, percent-encoding, case) becomes
    ``https://www.linkedin.com/in/<slug>`` with the slug decoded, NFC and
    lowercased; slugs are compared case-insensitively, and non-ASCII slugs are kept
    whole. Sub-pages of a profile (``/in/<slug>/details/...``) name the same person.
    Legacy ``/pub/<name>/<a>/<b>/<c>`` URLs keep their own canonical ``/pub/`` form:
    nothing maps them to a vanity name. Company and school pages, and anything
    that is not a profile, are refused.
    """
    return _linkedin(_require_text(raw, LINKEDIN_FIELD))


def _linkedin_of_text(raw: str) -> str:
    """``canonical_linkedin`` of text already known to be storable."""
    text = raw.strip()
    if not text or _has_space_or_control(text):
        raise IdentityError(LINKEDIN_FIELD, "must be a URL without spaces")

    segments = _linkedin_segments(text)
    kind = segments[0].lower() if segments else ""

    if kind == "in" and len(segments) >= 2:
        return f"https://www.linkedin.com/in/{_slug(segments[1])}"

    if kind == "pub" and len(segments) >= 5:
        name = _slug(segments[1])
        ids = [segment.lower() for segment in segments[2:5]]
        if all(_PUB_ID_PART.match(part) for part in ids):
            return f"https://www.linkedin.com/pub/{name}/{'/'.join(ids)}"

    raise IdentityError(LINKEDIN_FIELD, "must be a personal profile URL (/in/<name>)")


def canonical_name(raw: str) -> str:
    """A display text (name or title) in NFC, trimmed, inner whitespace collapsed.

    Case is kept: these fields are shown to people and never part of a key.
    """
    text = unicodedata.normalize("NFC", raw)
    return " ".join(text.split())


def _memoized(canonical: Callable[[str], str]) -> Callable[[str], str]:
    """``canonical`` with the results for short texts remembered."""
    cached = functools.lru_cache(maxsize=CACHE_SIZE)(canonical)

    def lookup(text: str) -> str:
        if len(text) <= CACHED_TEXT_LENGTH:
            return cached(text)
        return canonical(text)

    return lookup


_email = _memoized(_email_of_text)
_domain = _memoized(_domain_of_text)
_linkedin = _memoized(_linkedin_of_text)
_name = _memoized(canonical_name)


@dataclass(frozen=True)
class CanonicalIdentity:
    """The identity of a signal after canonicalization; None means absent."""

    email: str | None = None
    linkedin_url: str | None = None
    company_domain: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    title: str | None = None

    def person_key(self) -> str | None:
        """The key of the person lead: email first, LinkedIn profile second."""
        if self.email is not None:
            return f"email:{self.email}"
        if self.linkedin_url is not None:
            return f"linkedin:{self.linkedin_url}"
        return None


_CANONICALIZERS: Final = {
    "email": _email,
    "linkedin_url": _linkedin,
    "company_domain": _domain,
    "first_name": _name,
    "last_name": _name,
    "title": _name,
}
# In field order, which is the order a 400 names the offending fields in.
_FIELDS: Final = tuple(
    (name, f"identity.{name}", canonical, name in IDENTIFYING_FIELDS)
    for name, canonical in _CANONICALIZERS.items()
)


def _canonicalize_all(
    identity: object,
) -> tuple[dict[str, str | None], list[IdentityError]]:
    """Canonicalize every field, gathering each offending field in field order."""
    if not isinstance(identity, Mapping):
        return {}, [IdentityError("identity", "must be an object")]

    values: dict[str, str | None] = {}
    errors: list[IdentityError] = []
    identified = False
    for name, path, canonical, identifying in _FIELDS:
        raw = identity.get(name)
        if _is_blank(raw):
            values[name] = None
            continue

        identified = identified or identifying
        try:
            values[name] = canonical(_require_text(raw, path)) or None
        except IdentityError as error:
            errors.append(error)

    if not identified:
        errors.append(
            IdentityError(
                "identity",
                "needs at least one of email, linkedin_url, company_domain",
            )
        )
    return values, errors


def _is_blank(value: object) -> bool:
    """Tell whether an identity value counts as absent."""
    return value is None or (isinstance(value, str) and not value.strip())


def canonicalize_reporting(
    identity: object,
) -> tuple[CanonicalIdentity | None, list[IdentityError]]:
    """The canonical identity and every offending field, in one pass.

    The gateway needs both: the identity when all is well, every problem for the
    400 otherwise, without canonicalizing twice on the hot path.
    """
    values, errors = _canonicalize_all(identity)
    return (None if errors else CanonicalIdentity(**values)), errors


def collect_identity_errors(identity: object) -> list[IdentityError]:
    """Every offending identity field, so one 400 can name them all."""
    return _canonicalize_all(identity)[1]


def canonicalize(identity: object) -> CanonicalIdentity:
    """The canonical identity of a signal, or the first offending field.

    Only the known fields are read; other keys are ignored so that producers that
    send extra attributes are not refused. Blank strings count as absent, since
    many exporters write "" for a missing value.
    """
    values, errors = _canonicalize_all(identity)
    if errors:
        raise errors[0]
    return CanonicalIdentity(**values)
