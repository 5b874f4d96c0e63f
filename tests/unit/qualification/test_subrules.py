"""Sub-rules of custom signal types: parsing, error paths, first match wins."""

import json
from typing import Any

import pytest

from stream_processors.qualification.errors import RulesError
from stream_processors.qualification.subrules import bucket_for, parse_subrules

RULES = [
    {
        "bucket": "enterprise_demo",
        "when": {"event_name": "demo_requested", "context.team_size": {"gt": 10}},
    },
    {"bucket": "demo", "when": {"event_name": "Demo_Requested"}},
    {"bucket": "pricing", "when": {"event_name": ["pricing_viewed", "plan_compared"]}},
    {
        "bucket": "trial",
        "when": {"context.plan.tier": {"in": ["trial"], "exists": True}},
    },
]


@pytest.mark.parametrize(
    ("event_name", "context", "bucket"),
    [
        ("demo_requested", {"team_size": 25}, "enterprise_demo"),
        ("demo_requested", {"team_size": "11"}, "enterprise_demo"),
        ("demo_requested", {"team_size": 10}, "demo"),
        ("DEMO_REQUESTED", None, "demo"),
        ("plan_compared", {}, "pricing"),
        ("signed_up", {"plan": {"tier": "Trial"}}, "trial"),
        ("signed_up", {"plan": "trial"}, None),
        (None, None, None),
    ],
)
def test_first_matching_bucket_wins(
    event_name: str | None, context: dict[str, Any] | None, bucket: str | None
) -> None:
    """Rules are tried in order; the first whose conditions hold names the bucket."""
    rules = parse_subrules(RULES)

    assert bucket_for(rules, event_name, context) == bucket


def test_empty_when_is_a_catch_all() -> None:
    """A rule without conditions takes every event that reaches it."""
    rules = parse_subrules(
        json.dumps(
            [{"bucket": "demo", "when": {"event_name": "x"}}, {"bucket": "other"}]
        )
    )

    assert bucket_for(rules, "anything", None) == "other"


@pytest.mark.parametrize(
    ("raw", "path"),
    [
        ({"bucket": "a"}, "sub_rules"),
        ([{"bucket": "a b"}], "sub_rules[0].bucket"),
        ([{"bucket": "a", "if": {}}], "sub_rules[0].if"),
        ([{"bucket": "a", "when": []}], "sub_rules[0].when"),
        ([{"bucket": "a", "when": {"email": "x"}}], "sub_rules[0].when.email"),
        (
            [{"bucket": "a", "when": {"context.team_size": {"more": 1}}}],
            "sub_rules[0].when.context.team_size.more",
        ),
        (
            [{"bucket": "a", "when": {"context.team_size": {"gt": "ten"}}}],
            "sub_rules[0].when.context.team_size.gt",
        ),
        (
            [{"bucket": "a", "when": {"context.n": {"between": [1, "x"]}}}],
            "sub_rules[0].when.context.n.between[1]",
        ),
        ([{"bucket": "a", "when": {"context.n": {}}}], "sub_rules[0].when.context.n"),
        (
            [{"bucket": "a", "when": {"event_name": [None]}}],
            "sub_rules[0].when.event_name[0]",
        ),
        ("[", "sub_rules"),
    ],
)
def test_errors_name_their_path(raw: Any, path: str) -> None:
    """Invalid sub-rules are refused with the path of the offending part."""
    with pytest.raises(RulesError) as caught:
        parse_subrules(raw)

    assert caught.value.path == path


def test_error_prefix_is_the_callers() -> None:
    """Callers nesting sub-rules in a type config get their own prefix in errors."""
    with pytest.raises(RulesError) as caught:
        parse_subrules([{"bucket": ""}], where="custom_types[2].sub_rules")

    assert caught.value.path == "custom_types[2].sub_rules[0].bucket"
