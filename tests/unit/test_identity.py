"""Canonical identity forms: the field cases B16, B18, B20, B21 and their properties."""

from __future__ import annotations

import string
from urllib.parse import quote

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from schemas.identity import (
    FREE_EMAIL_DOMAINS,
    CanonicalIdentity,
    IdentityError,
    canonical_domain,
    canonical_email,
    canonical_linkedin,
    canonical_name,
    canonicalize,
    collect_identity_errors,
    email_domain,
    text_problem,
    work_email_domain,
)

BASE_IDENTITY = {
    "email": "jane.doe@example.com",
    "linkedin_url": "https://www.linkedin.com/in/jane-doe-example",
    "company_domain": "example.com",
    "first_name": "Jane",
    "last_name": "Doe",
    "title": "VP of Marketing",
}

# B16: five emails; a-c are one Gmail mailbox, d and e two other people.
B16_GMAIL = [
    "Jane.Doe+webinar@gmail.com",
    "janedoe@googlemail.com",
    "JANEDOE@GMAIL.COM",
]
B16_OTHER_WITH_TAG = "jane.doe+webinar@example.com"
B16_OTHER_PLAIN = "janedoe@example.com"

# B18: four spellings of one profile, a legacy /pub/ URL, two values to refuse.
B18_SPELLINGS = [
    "https://de.linkedin.com/in/j%C3%BCrgen-m%C3%BCller-12345/",
    "https://www.linkedin.com/in/jürgen-müller-12345",
    "linkedin.com/in/j%c3%bcrgen-m%c3%bcller-12345?trk=public_profile_browsemap",
    "HTTP://WWW.LINKEDIN.COM/in/j%C3%BCrgen-m%C3%BCller-12345#experience",
]
B18_PUB = "https://www.linkedin.com/pub/jane-doe/1a/2b3/4c5"
B18_REFUSED = [
    "https://www.linkedin.com/company/example-corp/",
    "https://www.linkedin.com/in/../company/example-corp",
]

# B20: eight spellings of company_domain.
B20_SAME_COMPANY = [
    " HTTPS://WWW.Example-Corp.example/about?ref=x ",
    "example-corp.example.",
    "www.example-corp.example:443",
    "Example-Corp.Example",
]
B20_IDN = ["bücher.example", "xn--bcher-kva.example"]

# A loaded CI machine must not turn one slow example into a failure.
relaxed = settings(deadline=None)


def _without(*names: str) -> dict[str, object]:
    """The base identity of the field cases minus some fields."""
    return {key: value for key, value in BASE_IDENTITY.items() if key not in names}


def test_b16_gmail_spellings_share_one_address() -> None:
    """B16 a-c: dots, +tag, googlemail.com and case all reduce to one Gmail box."""
    actual = {canonical_email(raw) for raw in B16_GMAIL}

    assert actual == {"janedoe@gmail.com"}


def test_b16_other_providers_keep_dots_and_tags() -> None:
    """B16 d-e: outside Gmail, dots and +tags stay, so d and e stay two people."""
    tagged = canonical_email(B16_OTHER_WITH_TAG)
    plain = canonical_email(B16_OTHER_PLAIN)

    assert tagged == "jane.doe+webinar@example.com"
    assert plain == "janedoe@example.com"


def test_b16_person_keys() -> None:
    """B16: a-c share one person key, d and e each have their own."""
    keys = [
        canonicalize({**BASE_IDENTITY, "email": raw}).person_key()
        for raw in [*B16_GMAIL, B16_OTHER_WITH_TAG, B16_OTHER_PLAIN]
    ]

    assert len(set(keys[:3])) == 1
    assert len(set(keys)) == 3


def test_email_idn_domain_becomes_punycode() -> None:
    """An IDN email domain is stored in its ASCII form, the local part lowercased."""
    actual = canonical_email("Jürgen@BÜCHER.example")

    assert actual == "jürgen@xn--bcher-kva.example"


@pytest.mark.parametrize(
    "raw",
    [
        "no-at-sign",
        "@example.com",
        "jane@",
        "jane doe@example.com",
        "Jane <jane@example.com>",
        "jane@localhost",
        "jane@10.0.0.1",
        "+tag@gmail.com",
        "jane@exa mple.com",
        "a" * 65 + "@example.com",
    ],
)
def test_invalid_emails_name_the_field(raw: str) -> None:
    """Values that are no address are refused naming identity.email."""
    with pytest.raises(IdentityError) as caught:
        canonical_email(raw)

    assert caught.value.field == "identity.email"


def test_email_domain_and_free_mailboxes() -> None:
    """A personal mailbox never passes for the company, a work address does."""
    assert email_domain("janedoe@gmail.com") == "gmail.com"
    assert "gmail.com" in FREE_EMAIL_DOMAINS
    assert work_email_domain("janedoe@gmail.com") is None
    assert work_email_domain("jane@example-corp.example") == "example-corp.example"


def test_b18_profile_spellings_share_one_url() -> None:
    """B18 a-d: host, scheme, encoding, slash, query and fragment do not matter."""
    actual = {canonical_linkedin(raw) for raw in B18_SPELLINGS}

    assert actual == {"https://www.linkedin.com/in/jürgen-müller-12345"}


def test_b18_legacy_pub_url_keeps_its_own_form() -> None:
    """B18 e: a /pub/ URL is its own key, neither rewritten to /in/ nor refused."""
    actual = canonical_linkedin("HTTPS://linkedin.com/PUB/Jane-Doe/1A/2b3/4c5/")

    assert actual == B18_PUB


@pytest.mark.parametrize("raw", B18_REFUSED)
def test_b18_company_page_and_traversal_are_refused(raw: str) -> None:
    """B18 f-g: a company page or a traversal path is no personal profile."""
    identity = {**_without("email"), "linkedin_url": raw}

    with pytest.raises(IdentityError) as caught:
        canonicalize(identity)

    assert caught.value.field == "identity.linkedin_url"


def test_b18_person_key_without_email_is_the_profile() -> None:
    """B18: with no email, every spelling of the profile gives one person key."""
    keys = {
        canonicalize({**_without("email"), "linkedin_url": raw}).person_key()
        for raw in B18_SPELLINGS
    }

    assert keys == {"linkedin:https://www.linkedin.com/in/jürgen-müller-12345"}


@pytest.mark.parametrize(
    "raw",
    [
        "https://linkedin.com.evil.example/in/jane",
        "https://notlinkedin.com/in/jane",
        "https://a.b.linkedin.com/in/jane",
        "ftp://www.linkedin.com/in/jane",
        "https://user@www.linkedin.com/in/jane",
        "https://www.linkedin.com/in/",
        "https://www.linkedin.com/in/%2e%2e/company/x",
        "https://www.linkedin.com/in/a%2Fb",
        "https://www.linkedin.com/in/%C3",
        "https://www.linkedin.com/in/ja ne",
        "https://www.linkedin.com/in/ja\tne",
        "https://www.linkedin.com/school/example",
        "https://www.linkedin.com/pub/dir/jane/doe",
        "https://www.linkedin.com:99999/in/jane",
    ],
)
def test_invalid_linkedin_urls_name_the_field(raw: str) -> None:
    """Other hosts, schemes and paths are refused naming identity.linkedin_url."""
    with pytest.raises(IdentityError) as caught:
        canonical_linkedin(raw)

    assert caught.value.field == "identity.linkedin_url"


def test_linkedin_profile_subpages_name_the_same_person() -> None:
    """A profile's sub-page or language suffix still names the profile."""
    actual = {
        canonical_linkedin("https://www.linkedin.com/in/jane-doe/details/experience/"),
        canonical_linkedin("https://www.linkedin.com/in/jane-doe/de"),
    }

    assert actual == {"https://www.linkedin.com/in/jane-doe"}


def test_b20_spellings_share_one_domain() -> None:
    """B20 a-d: whitespace, scheme, www., path, query, port, dot and case go."""
    actual = {canonical_domain(raw) for raw in B20_SAME_COMPANY}

    assert actual == {"example-corp.example"}


def test_b20_idn_and_punycode_meet() -> None:
    """B20 e-f: the Unicode and punycode spellings share the ASCII form."""
    actual = {canonical_domain(raw) for raw in B20_IDN}

    assert actual == {"xn--bcher-kva.example"}


def test_b20_www_stays_when_one_label_would_remain() -> None:
    """B20 g: www.example keeps its www., which is then a label of its own."""
    actual = canonical_domain("www.example")

    assert actual == "www.example"


def test_domain_userinfo_and_fragment_go() -> None:
    """Userinfo and fragment are no part of the host."""
    actual = canonical_domain("http://user:pw@Example-Corp.example:8080#top")

    assert actual == "example-corp.example"


@pytest.mark.parametrize(
    "raw",
    ["https:", "localhost", "[::1]", "10.0.0.1", "a..b", "-x.example", "x.example:ab"],
)
def test_b20_junk_domains_name_the_field(raw: str) -> None:
    """B20 h and kin: values with no domain are refused naming company_domain."""
    identity = {**BASE_IDENTITY, "company_domain": raw}

    with pytest.raises(IdentityError) as caught:
        canonicalize(identity)

    assert caught.value.field == "identity.company_domain"


def test_b21_nul_in_title_names_the_field() -> None:
    """B21 b: a NUL inside identity.title is refused naming identity.title."""
    identity = {**BASE_IDENTITY, "title": "VP\u0000Sales"}

    with pytest.raises(IdentityError) as caught:
        canonicalize(identity)

    assert caught.value.field == "identity.title"


def test_b21_text_problem_flags_nul_and_surrogates() -> None:
    """B21 a: the helper the gateway runs on context text flags NUL and surrogates."""
    assert text_problem("spring\u0000sale") is not None
    assert text_problem("spring\ud800sale") is not None
    assert text_problem("spring sale ü") is None


def test_lone_surrogate_in_email_names_the_field() -> None:
    """A lone surrogate cannot be stored, so it is refused, never replaced."""
    identity = {**BASE_IDENTITY, "email": "jane\udc80@example.com"}

    with pytest.raises(IdentityError) as caught:
        canonicalize(identity)

    assert caught.value.field == "identity.email"


def test_canonicalize_base_identity() -> None:
    """The base identity of the field cases canonicalizes to itself."""
    expected = CanonicalIdentity(**BASE_IDENTITY)

    actual = canonicalize(BASE_IDENTITY)

    assert expected == actual


def test_identity_needs_an_identifying_field() -> None:
    """Names alone identify nobody; blank strings count as absent."""
    identity = {"email": "  ", "company_domain": None, "first_name": "Jane"}

    with pytest.raises(IdentityError) as caught:
        canonicalize(identity)

    assert caught.value.field == "identity"


@pytest.mark.parametrize("raw", [None, [], "jane@example.com", 42])
def test_identity_must_be_an_object(raw: object) -> None:
    """A null or non-object identity is refused naming identity."""
    with pytest.raises(IdentityError) as caught:
        canonicalize(raw)

    assert caught.value.field == "identity"


def test_non_string_values_are_refused() -> None:
    """A number where text belongs is refused, not converted."""
    identity = {**BASE_IDENTITY, "last_name": 7}

    with pytest.raises(IdentityError) as caught:
        canonicalize(identity)

    assert caught.value.field == "identity.last_name"


def test_collect_reports_every_offending_field() -> None:
    """One 400 can name every bad field, in field order."""
    identity = {
        **BASE_IDENTITY,
        "email": "nope",
        "company_domain": "https:",
        "title": "a\u0000b",
    }

    actual = [error.field for error in collect_identity_errors(identity)]

    assert actual == ["identity.email", "identity.company_domain", "identity.title"]


def test_names_are_trimmed_and_collapsed_in_nfc() -> None:
    """Display names lose stray whitespace and decomposed accents, not their case."""
    actual = canonical_name("  Ju\u0308rgen \t  Mu\u0308ller ")

    assert actual == "Jürgen Müller"


# Properties. Hypothesis explores spellings the field cases only sample.

_SLUG_CHARS = string.ascii_lowercase + string.digits + "-_" + "üéßøçñåäö"
_LOCAL_CHARS = string.ascii_letters + string.digits + ".+-_"
_DOMAINS = [
    "example.com",
    "example-corp.example",
    "bücher.example",
    "gmail.com",
    "googlemail.com",
    "sub.example.co.uk",
]

slugs = st.text(_SLUG_CHARS, min_size=1, max_size=40)
hosts = st.sampled_from(_DOMAINS)
labels = st.text(
    st.characters(codec="utf-8", categories=["L", "N", "Pd", "Mn"]),
    min_size=1,
    max_size=12,
)
near_domains = st.builds(
    lambda www, parts: www + ".".join(parts),
    st.sampled_from(["", "www.", "WWW.", "www.www."]),
    st.lists(labels, min_size=1, max_size=4),
)
near_emails = st.builds(
    lambda local, domain: f"{local}@{domain}",
    st.text(min_size=1, max_size=16),
    st.one_of(hosts, near_domains),
)
near_profiles = st.builds(
    lambda prefix, path: prefix + path,
    st.sampled_from(["https://www.linkedin.com/in/", "linkedin.com/pub/"]),
    st.text(max_size=30),
)


@relaxed
@given(st.one_of(st.text(max_size=80), near_emails))
def test_email_canonical_form_is_a_fixed_point(raw: str) -> None:
    """Whatever is accepted, canonicalizing the result again changes nothing."""
    try:
        once = canonical_email(raw)
    except IdentityError:
        return

    assert canonical_email(once) == once


@relaxed
@given(st.text(_LOCAL_CHARS, min_size=1, max_size=20), hosts)
def test_email_case_does_not_matter(local: str, host: str) -> None:
    """Upper- and lower-case spellings of an address meet."""
    assume(local.strip(".+") == local and not local.startswith("+"))

    expected = canonical_email(f"{local}@{host}")

    assert canonical_email(f"{local.upper()}@{host.upper()}") == expected


@relaxed
@given(st.text(string.ascii_lowercase, min_size=1), st.text(_LOCAL_CHARS))
def test_gmail_dots_and_tags_do_not_matter(name: str, tag: str) -> None:
    """Any dots and +tag on a Gmail address reduce to the plain mailbox."""
    dotted = ".".join(name)

    actual = canonical_email(f"{dotted}+{tag}@googlemail.com")

    assert actual == f"{name}@gmail.com"


@relaxed
@given(st.one_of(st.text(max_size=80), near_domains))
def test_domain_canonical_form_is_a_fixed_point(raw: str) -> None:
    """Whatever is accepted as a domain, canonicalizing it again changes nothing."""
    try:
        once = canonical_domain(raw)
    except IdentityError:
        return

    assert canonical_domain(once) == once


@relaxed
@given(
    hosts,
    st.sampled_from(["", "http://", "https://", "HTTPS://", "//"]),
    st.sampled_from(["", "www.", "WWW."]),
    st.sampled_from(["", ".", ":443", ".:8080"]),
    st.sampled_from(["", "/", "/about", "/a?b=c", "?ref=x", "#top"]),
    st.sampled_from(["", " ", "\t"]),
)
def test_domain_spellings_meet(
    host: str, scheme: str, www: str, port: str, tail: str, pad: str
) -> None:
    """Scheme, www., trailing dot, port, path, query, case and padding do not matter."""
    expected = canonical_domain(host)

    actual = canonical_domain(f"{pad}{scheme}{www}{host.upper()}{port}{tail}{pad}")

    assert actual == expected


@relaxed
@given(st.one_of(st.text(max_size=80), near_profiles))
def test_linkedin_canonical_form_is_a_fixed_point(raw: str) -> None:
    """Whatever is accepted as a profile, canonicalizing it again changes nothing."""
    try:
        once = canonical_linkedin(raw)
    except IdentityError:
        return

    assert canonical_linkedin(once) == once


@relaxed
@given(slugs)
def test_linkedin_slug_profiles_are_fixed_points(slug: str) -> None:
    """Canonical profile URLs, non-ASCII slugs included, canonicalize to themselves."""
    url = f"https://www.linkedin.com/in/{slug}"

    assert canonical_linkedin(url) == url


@relaxed
@given(
    slugs,
    st.sampled_from(["", "http://", "https://", "HTTPS://"]),
    st.sampled_from(["linkedin.com", "www.linkedin.com", "de.linkedin.com"]),
    st.booleans(),
    st.booleans(),
    st.sampled_from(["", "/", "?trk=public_profile", "#experience", "/?a=b#c"]),
)
def test_linkedin_spellings_meet(
    slug: str, scheme: str, host: str, encode: bool, upper: bool, tail: str
) -> None:
    """Scheme, host, percent-encoding, case and tracking tails do not matter."""
    assume(slug.upper().lower() == slug)
    written = slug.upper() if upper else slug
    written = quote(written) if encode else written

    actual = canonical_linkedin(f"{scheme}{host.upper()}/in/{written}{tail}")

    assert actual == f"https://www.linkedin.com/in/{slug}"


@relaxed
@given(st.text(max_size=80))
def test_name_canonical_form_is_a_fixed_point(raw: str) -> None:
    """Canonicalizing a display name twice equals canonicalizing it once."""
    once = canonical_name(raw)

    assert canonical_name(once) == once
