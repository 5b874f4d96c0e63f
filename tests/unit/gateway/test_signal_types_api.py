"""Declaring and switching signal types, as pure changes to a workspace record."""

from __future__ import annotations

import json

import pytest

from ingest_gateway.errors import ApiError
from ingest_gateway.signal_types_api import (
    declared_type,
    describe_types,
    sub_rule_errors,
    with_enabled,
    with_type,
)
from schemas.signal_types import BUILTIN_SIGNAL_TYPES
from schemas.workspace import new_workspace

WORKSPACE, _KEY = new_workspace("unit")


def test_display_name_becomes_the_snake_case_key() -> None:
    """``Trial Extended`` declares the key ``trial_extended`` with its rules."""
    declared = declared_type(
        {
            "display_name": "Trial Extended",
            "description": "Sales extended a trial.",
            "sub_rules": [{"bucket": "long", "when": {"context.days": {"gt": 14}}}],
        }
    )

    assert declared["key"] == "trial_extended"
    assert json.loads(declared["sub_rules_json"])[0]["bucket"] == "long"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"description": "x"}, "display_name"),
        ({"display_name": "Website Visit", "description": "x"}, "display_name"),
        ({"display_name": "A", "description": "x", "sub_rules": {}}, "sub_rules"),
        (
            {"display_name": "A", "description": "x", "sub_rules": [{"bucket": "!"}]},
            "sub_rules[0].bucket",
        ),
        ({"display_name": "A", "description": "x", "autoqualify": "y"}, "autoqualify"),
    ],
)
def test_bad_declarations_name_the_field(body: dict[str, object], field: str) -> None:
    """Missing names, built-in clashes and malformed sub-rules are 400s by field."""
    with pytest.raises(ApiError) as caught:
        declared_type(body)

    assert field in [f.field for f in caught.value.fields]


def test_listing_has_builtins_and_customs() -> None:
    """Every built-in is listed with the workspace's own types after them."""
    declared = declared_type({"display_name": "Beta Signup", "description": "d"})

    listed = describe_types(with_type(WORKSPACE, declared))

    assert len(listed) == len(BUILTIN_SIGNAL_TYPES) + 1
    assert listed[-1]["key"] == "beta_signup"


def test_switching_a_builtin_off_and_on() -> None:
    """Disabling then enabling a built-in leaves no trace in the record."""
    off = with_enabled(WORKSPACE, "website_visit", False)
    on = with_enabled(off, "website_visit", True)

    assert off["disabled_signal_types"] == ["website_visit"]
    assert on["disabled_signal_types"] == []


def test_switching_an_unknown_type_is_a_404() -> None:
    """A key that is neither built in nor declared is not found."""
    with pytest.raises(ApiError) as caught:
        with_enabled(WORKSPACE, "no_such_type", False)

    assert caught.value.status == 404


def test_empty_sub_rules_are_fine() -> None:
    """No sub-rules at all is a valid declaration."""
    assert sub_rule_errors([]) == []
