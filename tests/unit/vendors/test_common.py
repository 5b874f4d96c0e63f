"""Shared helpers: instants, domains, titles, keys and context bounds."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from ingest_gateway.vendors._common import (
    compact,
    domain_from_url,
    job_title,
    make_identity,
    make_key,
    to_rfc3339,
)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (1567689104280, "2019-09-05T13:11:44.280000+00:00"),
        ("1484858431084", "2017-01-19T20:40:31.084000+00:00"),
        (1523440213, "2018-04-11T09:50:13+00:00"),
        ("2012-12-02T00:30:08.276Z", "2012-12-02T00:30:08.276000+00:00"),
        ("2019-09-25 18:50:01", "2019-09-25T18:50:01+00:00"),
        ("2020-01-01T02:00:00+02:00", "2020-01-01T00:00:00+00:00"),
        (datetime(2024, 1, 1, tzinfo=UTC), "2024-01-01T00:00:00+00:00"),
        ("0001-01-01T00:00:00Z", None),
        ("2020-05-09 23:54:49.209808489 +0000 UTC m=+70366.298768264", None),
        (True, None),
        ("", None),
    ],
)
def test_instants_normalize_to_utc_rfc3339(raw: object, expected: str | None) -> None:
    """Epoch millis, seconds, ISO with or without offset become UTC; junk is None."""
    assert expected == to_rfc3339(raw)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("http://www.HubSpot.com", "hubspot.com"),
        ("company.com", "company.com"),
        ("https://segment.com/pricing", "segment.com"),
        ("someone@acme.io", None),
        ("localhost", None),
    ],
)
def test_domains_are_bare_hosts(raw: str, expected: str | None) -> None:
    """A website or bare domain becomes a lowercased host without www."""
    assert expected == domain_from_url(raw)


def test_honorifics_are_not_job_titles() -> None:
    """Salutations are refused as titles while real titles pass."""
    assert [
        job_title("Mr"),
        job_title("Dr."),
        job_title("VP Sales"),
    ] == [None, None, "VP Sales"]


def test_identity_needs_a_matchable_field() -> None:
    """Names alone are no identity; an email or domain is."""
    assert make_identity(first_name="Ann", last_name="Lee") is None
    assert make_identity(company_domain="https://acme.io") == {
        "company_domain": "acme.io"
    }


def test_long_keys_are_hashed_and_missing_ids_give_no_key() -> None:
    """Keys over the limit become a stable digest; a missing id means no key."""
    long_key = make_key("calendly", "x" * 300)

    assert long_key == make_key("calendly", "x" * 300)
    assert long_key is not None
    assert len(long_key) < 100
    assert make_key("segment", "track", None) is None


def test_context_drops_secrets_empties_and_long_text() -> None:
    """Secret-named keys and empty values go; long text is cut."""
    kept = compact(
        {
            "api_key": "k",
            "device": {"token": "t", "model": "x"},
            "e": "",
            "t": "a" * 900,
        }
    )

    assert kept == {"device": {"model": "x"}, "t": "a" * 300}
