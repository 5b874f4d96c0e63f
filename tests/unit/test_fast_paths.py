"""The hot-path shortcuts give exactly what the general code they skip would give."""

from __future__ import annotations

import json
import unicodedata
import uuid
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ingest_gateway.body import find_bad_text, may_hold_bad_text, parse_json
from schemas import identity, keys

TEXT = st.text(
    alphabet=st.characters(codec="utf-8")
    | st.sampled_from(["\x00", "\ud800", "\udfff", "\u2003", "\x85", "é"]),
    max_size=12,
)
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | TEXT,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(TEXT, inner, max_size=4)
    ),
    max_leaves=20,
)


def test_ascii_space_and_control_match_the_unicode_rule() -> None:
    """Every ASCII character gets the answer of the per-character Unicode check."""
    expected = [
        ch.isspace() or unicodedata.category(ch) == "Cc" for ch in map(chr, range(128))
    ]

    actual = [identity._has_space_or_control(chr(code)) for code in range(128)]

    assert expected == actual


@given(st.lists(st.none() | st.integers() | st.booleans() | TEXT, max_size=8))
def test_key_json_is_the_json_module_text(parts: list[Any]) -> None:
    """Keys hash the same text json.dumps writes, for any mix of parts."""
    expected = json.dumps(parts, ensure_ascii=False, separators=(",", ":"))

    assert expected == keys._json_array(parts)


@given(st.lists(st.none() | st.integers() | st.text(max_size=12), max_size=5))
def test_derived_ids_are_uuid5(parts: list[Any]) -> None:
    """The hand-built uuid5 is the standard library's, bit for bit."""
    text = json.dumps(parts, ensure_ascii=False, separators=(",", ":"))

    assert str(uuid.uuid5(keys.NAMESPACE, text)) == keys._uuid(parts)


@given(JSON_VALUES, st.booleans(), st.integers(min_value=0, max_value=4))
def test_checked_text_finds_what_the_full_walk_finds(
    document: Any, ascii_only: bool, max_depth: int
) -> None:
    """A body whose raw text is cleared gets the same answer as the full walk."""
    raw = json.dumps(document, ensure_ascii=ascii_only).encode("utf-8", "surrogatepass")
    parsed = parse_json(raw) if raw.strip() else document
    expected = find_bad_text(parsed, "", max_depth)

    checked = not may_hold_bad_text(raw)

    assert expected == find_bad_text(parsed, "", max_depth, text_checked=checked)
    if expected is not None and "nested" not in expected.message:
        assert not checked


@given(JSON_VALUES)
def test_strict_parse_equals_the_plain_parse_of_clean_documents(document: Any) -> None:
    """Without refused values, the hooks change nothing the plain parser reads."""
    raw = json.dumps(document, ensure_ascii=True).encode()

    assert json.loads(raw) == parse_json(raw)


@pytest.mark.parametrize(
    ("canonical", "good", "bad"),
    [
        (identity.canonical_email, "Jane@Example.COM", "jane doe@example.com"),
        (identity.canonical_domain, "WWW.Example.com", "localhost"),
        (
            identity.canonical_linkedin,
            "linkedin.com/in/Jane",
            "https://www.linkedin.com/company/x",
        ),
    ],
)
def test_memoized_forms_repeat_results_and_refusals(
    canonical: Any, good: str, bad: str
) -> None:
    """A remembered value answers as before, and a refused one is refused each time."""
    first = canonical(good)

    assert first == canonical(good)
    for _ in range(2):
        with pytest.raises(identity.IdentityError):
            canonical(bad)


def test_long_values_bypass_the_cache_with_the_same_result() -> None:
    """Past the cached length the canonical form is computed, and equal."""
    title = "  Head   of " + "x" * identity.CACHED_TEXT_LENGTH

    assert identity.canonical_name(title) == identity._name(title)
