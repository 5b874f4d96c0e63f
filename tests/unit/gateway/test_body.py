"""Strict body parsing names the path of every value it refuses."""

from __future__ import annotations

import pytest

from ingest_gateway.body import find_bad_text, parse_json
from ingest_gateway.errors import ApiError


def refused_fields(raw: bytes) -> list[str]:
    with pytest.raises(ApiError) as caught:
        parse_json(raw)
    assert caught.value.status == 400
    return [f.field for f in caught.value.fields]


@pytest.mark.parametrize(
    ("raw", "path"),
    [
        (b'{"context": {"score": NaN}}', "context.score"),
        (b'{"context": {"score": -Infinity}}', "context.score"),
        (b'{"context": {"revenue": 1e400}}', "context.revenue"),
        (b'{"context": {"n": ' + b"9" * 5000 + b"}}", "context.n"),
        (b'{"context": {"list": [1, 2, NaN]}}', "context.list[2]"),
        (b'{"source": "a", "source": "b"}', "source"),
        (b'{"context": {"a": {"b": 1, "b": 2}}}', "context.a.b"),
    ],
)
def test_refused_values_are_named_by_path(raw: bytes, path: str) -> None:
    """NaN, infinities, huge integers and repeated keys are 400s naming the value."""
    assert refused_fields(raw) == [path]


def test_big_integer_is_kept_exact() -> None:
    """2**64 parses to the exact int, never a float."""
    parsed = parse_json(b'{"crm_id": 18446744073709551616}')

    assert parsed == {"crm_id": 2**64}
    assert isinstance(parsed["crm_id"], int)


@pytest.mark.parametrize("raw", [b"", b"  ", b'{"a": 1', b"\xff\xfe", b"[" * 100_000])
def test_unparseable_bodies_name_the_root(raw: bytes) -> None:
    """Empty, truncated, non-UTF-8 and absurdly deep bodies are 400 on ``$``."""
    assert refused_fields(raw) == ["$"]


@pytest.mark.parametrize(
    ("body", "path"),
    [
        ({"context": {"utm_campaign": "spring\x00sale"}}, "context.utm_campaign"),
        ({"identity": {"first_name": "An\ud800a"}}, "identity.first_name"),
        ({"context": {"tags": ["ok", "x\x00"]}}, "context.tags[1]"),
        ({"source": "\x00"}, "source"),
    ],
)
def test_bad_text_is_named_by_field_path(body: dict[str, object], path: str) -> None:
    """NUL and lone surrogates are reported at the field that holds them."""
    found = find_bad_text(body, "", 32)

    assert found is not None
    assert found.field == path


def test_nesting_past_the_limit_is_named() -> None:
    """Context deeper than the limit is refused at the level that passes it."""
    body = {"context": {"a": {"b": {"c": 1}}}}

    found = find_bad_text(body, "", 2)

    assert found is not None
    assert found.field == "context.a.b"
