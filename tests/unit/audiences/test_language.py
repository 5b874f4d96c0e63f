"""The condition language: what parses, what it means, and how errors are placed."""

from __future__ import annotations

from datetime import timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from stream_processors.audiences.evaluate import render
from stream_processors.audiences.language import (
    And,
    Compare,
    ConditionError,
    Count,
    Exists,
    In,
    Literal,
    Node,
    Not,
    Or,
    Path,
    parse,
    windows,
)


def test_simple_comparison_parses_to_a_path_and_literal() -> None:
    """The issue's example is a comparison of a context path with a number."""
    expected = Compare(Path(("signals", "context", "team_size")), ">", Literal(10))

    actual = parse("signals.context.team_size > 10")

    assert expected == actual


def test_window_count_with_precedence() -> None:
    """``and`` binds tighter than ``or`` and counts carry their window."""
    node = parse(
        'lead.icp_score >= 70 or count(signals.signal_type == "pricing_page_visit",'
        " 14d) >= 1 and not company.industry in ['SaaS']"
    )

    assert isinstance(node, Or)
    right = node.parts[1]
    assert isinstance(right, And)
    count = right.parts[0]
    assert isinstance(count, Compare)
    assert isinstance(count.left, Count)
    assert count.left.window == timedelta(days=14)
    assert isinstance(right.parts[1], Not)
    assert windows(node) == [timedelta(days=14)]


def test_in_not_in_and_exists() -> None:
    """Membership tests keep their options; exists takes a path."""
    node = parse('lead.persona_code not in ["vp", "cto"] and exists(company.employees)')

    assert node == And(
        (
            In(Path(("lead", "persona_code")), ("vp", "cto"), True),
            Exists(Path(("company", "employees"))),
        )
    )


@pytest.mark.parametrize(
    ("text", "line", "column"),
    [
        ("signals.context.team_size >", 1, 28),
        ("lead.icp_score >= 10 and\n  (lead.title ==", 2, 17),
        ("lead.icp_score == 1 @ 2", 1, 21),
        ("leads.icp_score == 1", 1, 1),
        ('count(signals.source == "x", 400d) > 1', 1, 30),
    ],
)
def test_malformed_condition_names_its_position(
    text: str, line: int, column: int
) -> None:
    """Every kind of mistake is reported at its line and column."""
    with pytest.raises(ConditionError) as raised:
        parse(text)

    assert (raised.value.line, raised.value.column) == (line, column)
    assert f"line {line}, column {column}" in str(raised.value)


def test_syntax_error_says_what_was_expected() -> None:
    """A missing right-hand side lists what could have come there."""
    with pytest.raises(ConditionError) as raised:
        parse("signals.context.team_size >")

    assert "a number" in raised.value.expected
    assert str(raised.value) == (
        "line 1, column 28: the condition ends too early; expected a field name,"
        " a number, a string, 'count', 'false', 'null' or 'true'"
    )


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "line 1, column 1: the condition is empty; expected '(', a field name"),
        ("(lead.icp_score > 1", "line 1, column 20: the condition ends too early;"),
        ("lead.icp_score > 1 )", "line 1, column 20: unexpected ')'; expected the"),
        ("lead.icp_score >> 1", "line 1, column 17: unexpected '>'; expected a"),
        ("lead.icp_score @ 1", "line 1, column 16: unexpected '@'; expected ')',"),
    ],
)
def test_syntax_errors_read_as_sentences(text: str, message: str) -> None:
    """What was found reads as a phrase, keywords and punctuation stand out quoted."""
    with pytest.raises(ConditionError) as raised:
        parse(text)

    assert str(raised.value).startswith(message)
    assert "unexpected the" not in str(raised.value)
    assert "something else" not in str(raised.value)


def test_one_expected_item_is_named_alone() -> None:
    """An unclosed parenthesis asks for exactly the one thing that closes it."""
    with pytest.raises(ConditionError) as raised:
        parse("(lead.icp_score > 1")

    assert str(raised.value).endswith("; expected ')'")


_names = st.from_regex(r"[a-z][a-z0-9_]{0,6}", fullmatch=True).filter(
    lambda n: (
        n not in {"and", "or", "not", "in", "true", "false", "null", "count"}
        and n not in {"exists"}
    )
)
_paths = st.builds(
    lambda root, rest: Path((root, *rest)),
    st.sampled_from(["lead", "company", "signals"]),
    st.lists(_names, min_size=1, max_size=3),
)
_literals = st.one_of(
    st.integers(-1000, 1000),
    st.text(max_size=8),
    st.booleans(),
    st.none(),
).map(Literal)
_leaves: st.SearchStrategy[Node] = st.one_of(
    st.builds(
        Compare, _paths, st.sampled_from(["==", "!=", "<", "<=", ">", ">="]), _literals
    ),
    st.builds(
        In,
        _paths,
        st.lists(st.integers(-5, 5), max_size=3).map(tuple),
        st.booleans(),
    ),
    st.builds(Exists, _paths),
)
_trees = st.recursive(
    _leaves,
    lambda inner: st.one_of(
        st.lists(inner, min_size=2, max_size=3).map(lambda p: And(tuple(p))),
        st.lists(inner, min_size=2, max_size=3).map(lambda p: Or(tuple(p))),
        st.builds(Not, inner),
    ),
    max_leaves=6,
)


@given(_trees)
def test_render_then_parse_gives_the_same_tree(tree: Node) -> None:
    """Any tree written back in the language parses to itself."""
    assert parse(render(tree)) == tree
