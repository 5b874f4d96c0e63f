"""Workspace rules: parsing, errors that name their path, versions."""

import copy
import json
from typing import Any

import pytest

from stream_processors.qualification.rules import (
    DEFAULT_RULES,
    DEFAULT_RULES_SPEC,
    RulesError,
    parse_rules,
)


def _rules_with(criterion: dict[str, Any]) -> dict[str, Any]:
    """A one-ICP rules object whose second criterion is ``criterion``."""
    return {
        "icps": [
            {
                "code": "ANY",
                "criteria": [
                    {"field": "company.employees", "op": "gte", "value": 1},
                    criterion,
                ],
            }
        ]
    }


@pytest.mark.parametrize(
    ("criterion", "path"),
    [
        ({"field": "company.employees", "op": "greater"}, "icps[0].criteria[1].op"),
        (
            {"field": "company.revenue", "op": "gt", "value": 1},
            "icps[0].criteria[1].field",
        ),
        (
            {"field": "title.seniority", "op": "eq", "value": "vp"},
            "icps[0].criteria[1].field",
        ),
        ({"field": "context.a b", "op": "exists"}, "icps[0].criteria[1].field"),
        ({"field": "company.employees", "op": "gt"}, "icps[0].criteria[1].value"),
        (
            {"field": "company.employees", "op": "gt", "value": "ten"},
            "icps[0].criteria[1].value",
        ),
        (
            {"field": "company.employees", "op": "gt", "value": True},
            "icps[0].criteria[1].value",
        ),
        (
            {"field": "company.employees", "op": "between", "value": [9, 1]},
            "icps[0].criteria[1].value",
        ),
        (
            {"field": "company.employees", "op": "between", "value": [1, "x"]},
            "icps[0].criteria[1].value[1]",
        ),
        (
            {"field": "company.country", "op": "in", "value": []},
            "icps[0].criteria[1].value",
        ),
        (
            {"field": "company.country", "op": "in", "value": ["US", {}]},
            "icps[0].criteria[1].value[1]",
        ),
        (
            {"field": "company.employees", "op": "gt", "value": 1, "weight": 0},
            "icps[0].criteria[1].weight",
        ),
        (
            {"field": "company.employees", "op": "gt", "value": 1, "required": 1},
            "icps[0].criteria[1].required",
        ),
        (
            {"field": "company.employees", "op": "gt", "value": 1, "extra": 1},
            "icps[0].criteria[1].extra",
        ),
        ("not an object", "icps[0].criteria[1]"),
    ],
)
def test_criterion_errors_name_their_path(criterion: Any, path: str) -> None:
    """Every invalid criterion is refused with the exact path of the bad value."""
    with pytest.raises(RulesError) as caught:
        parse_rules(_rules_with(criterion))

    assert caught.value.path == path


@pytest.mark.parametrize(
    ("rules", "path"),
    [
        ({"icps": {}}, "icps"),
        ({"icp": []}, "icp"),
        ({"thresholds": {"icp": 101}}, "thresholds.icp"),
        ({"thresholds": {"persona": "50"}}, "thresholds.persona"),
        ({"icps": [{"code": "lower", "criteria": []}]}, "icps[0].code"),
        ({"icps": [{"code": "A", "criteria": []}]}, "icps[0].criteria"),
        (
            {
                "personas": [
                    {
                        "code": "A",
                        "criteria": [{"field": "title.seniority", "op": "exists"}],
                    },
                    {
                        "code": "A",
                        "criteria": [{"field": "title.seniority", "op": "exists"}],
                    },
                ]
            },
            "personas[1].code",
        ),
        (
            {
                "personas": [
                    {
                        "code": "A",
                        "criteria": [
                            {
                                "field": "title.seniority",
                                "op": "in",
                                "value": ["vp", "boss"],
                            }
                        ],
                    }
                ]
            },
            "personas[0].criteria[0].value[1]",
        ),
        (
            {
                "personas": [
                    {
                        "code": "A",
                        "criteria": [{"field": "company.employees", "op": "exists"}],
                    }
                ]
            },
            "personas[0].criteria[0].field",
        ),
    ],
)
def test_structure_errors_name_their_path(rules: dict[str, Any], path: str) -> None:
    """Structural mistakes are refused with the path of the offending part."""
    with pytest.raises(RulesError) as caught:
        parse_rules(rules)

    assert caught.value.path == path


def test_json_text_errors_are_rules_errors() -> None:
    """Text that is not JSON is a RulesError, so callers handle one error type."""
    with pytest.raises(RulesError, match="not valid JSON"):
        parse_rules("{nope")


def test_default_rules_round_trip_through_json() -> None:
    """The default rules parse from their JSON text to the same version."""
    parsed = parse_rules(json.dumps(DEFAULT_RULES_SPEC))

    assert parsed.version == DEFAULT_RULES.version
    assert [p.code for p in parsed.icps] == [
        "ENTERPRISE",
        "MID_MARKET",
        "SMB_TECH",
        "STARTUP",
    ]
    assert len(DEFAULT_RULES.version) == 12


def test_version_ignores_spelling_but_not_meaning() -> None:
    """Spelled-out defaults and key order keep the version; a changed value does not."""
    spec = copy.deepcopy(DEFAULT_RULES_SPEC)
    spec["icps"][0]["criteria"][0]["weight"] = 1
    reordered = json.dumps(spec, sort_keys=True, indent=2)
    changed = copy.deepcopy(DEFAULT_RULES_SPEC)
    changed["icps"][0]["criteria"][0]["value"] = 5000

    assert parse_rules(reordered).version == DEFAULT_RULES.version
    assert parse_rules(changed).version != DEFAULT_RULES.version


def test_repeated_json_text_is_compiled_once() -> None:
    """The same config text yields the very same compiled object (cached)."""
    text = json.dumps(DEFAULT_RULES_SPEC)

    assert parse_rules(text) is parse_rules(text)
