"""ICP and persona scoring with the default and custom rules."""

from typing import Any

from stream_processors.qualification.rules import DEFAULT_RULES, parse_rules
from stream_processors.qualification.scoring import qualify


def _company(**fields: Any) -> dict[str, Any]:
    """A company record of the Avro shape with the given fields set."""
    record: dict[str, Any] = {
        "domain": "example.com",
        "name": "Example",
        "industry": None,
        "employees": None,
        "country": None,
        "region": None,
        "technologies": [],
        "funding_total_usd": None,
        "directory_source": "test",
    }
    record.update(fields)
    return record


def test_enterprise_vp_of_marketing() -> None:
    """A VP of Marketing at a 23,000-person company: ENTERPRISE, executive buyer."""
    identity = {"email": "jane.doe@example.com", "title": "VP of Marketing"}

    result = qualify(
        DEFAULT_RULES,
        company=_company(employees=23000),
        identity=identity,
        context=None,
    )

    assert result == {
        "icp_code": "ENTERPRISE",
        "icp_score": 100,
        "persona_code": "EXEC_BUYER",
        "persona_score": 100,
        "reasons": [
            "icp ENTERPRISE: company.employees >= 1000 (23000)",
            "persona EXEC_BUYER: title.seniority in [c_level, vp] (vp)",
        ],
        "rules_version": DEFAULT_RULES.version,
    }


def test_unknown_company_and_no_title_give_nulls() -> None:
    """Without a company or a title nothing qualifies and the scores are zero."""
    result = qualify(
        DEFAULT_RULES, company=None, identity={"title": None}, context=None
    )

    assert (result["icp_code"], result["icp_score"]) == (None, 0)
    assert (result["persona_code"], result["persona_score"]) == (None, 0)
    assert result["reasons"] == []


def test_joke_title_has_no_persona() -> None:
    """A joke title gets no persona even at a company that fits."""
    result = qualify(
        DEFAULT_RULES,
        company=_company(employees=5000),
        identity={"title": "Chief Happiness Officer"},
        context=None,
    )

    assert (result["icp_code"], result["persona_code"]) == ("ENTERPRISE", None)


def test_partial_match_scores_by_weight() -> None:
    """A mid-market company without a known stack scores 2/3 of the weight."""
    result = qualify(
        DEFAULT_RULES,
        company=_company(employees=450),
        identity={"title": "Director of Engineering"},
        context=None,
    )

    assert (result["icp_code"], result["icp_score"]) == ("MID_MARKET", 67)
    assert result["persona_code"] == "TECH_CHAMPION"


def test_small_tech_company_and_funded_startup() -> None:
    """A small company with a stack is SMB_TECH; a funded one is STARTUP."""
    small = _company(employees=30, technologies=["python", "react"])
    funded = _company(funding_total_usd=2_800_000)

    smb = qualify(DEFAULT_RULES, company=small, identity={}, context=None)
    startup = qualify(DEFAULT_RULES, company=funded, identity={}, context=None)

    assert (smb["icp_code"], smb["icp_score"]) == ("SMB_TECH", 80)
    assert (startup["icp_code"], startup["icp_score"]) == ("STARTUP", 67)


def test_below_threshold_reports_score_without_code() -> None:
    """A near miss keeps its score but gets no code under the threshold."""
    rules = parse_rules(
        {
            "thresholds": {"icp": 60},
            "icps": [
                {
                    "code": "US_PYTHON",
                    "criteria": [
                        {"field": "company.country", "op": "eq", "value": "us"},
                        {
                            "field": "company.technologies",
                            "op": "contains",
                            "value": "Python",
                        },
                    ],
                }
            ],
        }
    )

    result = qualify(
        rules,
        company=_company(country="US", technologies=["ruby"]),
        identity={},
        context=None,
    )

    assert (result["icp_code"], result["icp_score"]) == (None, 50)


def test_ties_go_to_the_first_declared() -> None:
    """Two ICPs with the same score resolve to the one declared first."""
    criterion = {"field": "context.team_size", "op": "gt", "value": 10}
    rules = parse_rules(
        {
            "icps": [
                {"code": "B", "criteria": [criterion]},
                {"code": "A", "criteria": [criterion]},
            ]
        }
    )

    result = qualify(rules, company=None, identity={}, context={"team_size": "15"})

    assert result["icp_code"] == "B"
    assert result["reasons"] == ["icp B: context.team_size > 10 (15)"]


def test_reasons_never_contain_an_email() -> None:
    """Identity and context values that could be an email are left out of reasons."""
    rules = parse_rules(
        {
            "icps": [
                {
                    "code": "KNOWN",
                    "criteria": [
                        {
                            "field": "identity.email",
                            "op": "contains",
                            "value": "@example.com",
                        },
                        {"field": "context.owner", "op": "exists"},
                    ],
                }
            ]
        }
    )

    result = qualify(
        rules,
        company=None,
        identity={"email": "jane.doe@example.com"},
        context={"owner": "sam.roe@example.com"},
    )

    assert result["icp_code"] == "KNOWN"
    assert not any(
        "jane" in reason or "sam.roe" in reason for reason in result["reasons"]
    )


def test_nested_context_and_missing_values() -> None:
    """Dotted paths reach nested context; a missing value matches only 'is missing'."""
    rules = parse_rules(
        {
            "icps": [
                {
                    "code": "NESTED",
                    "criteria": [
                        {
                            "field": "context.plan.seats",
                            "op": "between",
                            "value": [5, 50],
                        },
                        {
                            "field": "context.plan.coupon",
                            "op": "exists",
                            "value": False,
                        },
                        {"field": "company.country", "op": "ne", "value": "us"},
                    ],
                }
            ]
        }
    )

    result = qualify(rules, company=None, identity={}, context={"plan": {"seats": 12}})

    assert result["icp_score"] == 67
    assert result["reasons"] == [
        "icp NESTED: context.plan.seats between 5 and 50 (12)",
        "icp NESTED: context.plan.coupon is missing",
    ]
