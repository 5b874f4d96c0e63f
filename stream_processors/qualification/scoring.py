"""ICP and persona scoring of one signal's lead against compiled workspace rules.

This runs once per signal, so everything that can be done ahead is: rules are
compiled when the workspace config changes (``rules.py``), titles are parsed through
a bounded cache (``titles.py``), and here only field lookups and compiled predicates
run. The result is the Avro ``Qualification`` record.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from stream_processors.qualification.rules import Profile, Rules
from stream_processors.qualification.titles import TitleProfile, parse_title


def qualify(
    rules: Rules,
    *,
    company: Mapping[str, Any] | None,
    identity: Mapping[str, str | None],
    context: Mapping[str, Any] | None,
) -> dict[str, Any]:
    """Score the lead against every ICP and persona; the best of each wins.

    The best score is reported even when it is below the threshold (with a null
    code), so a near miss stays visible; ties go to the profile declared first.
    Reasons list the matched criteria of the chosen codes only.
    """
    title = parse_title(identity.get("title"))
    facts: dict[str, Any] = {
        "company": company or {},
        "identity": identity,
        "context": context or {},
        "title": _title_facts(title),
    }
    # Profiles often read the same fields; each path is walked once per signal.
    values: dict[tuple[str, ...], Any] = {}

    icp_code, icp_score, icp_reasons = _best(
        rules.icps, facts, values, rules.icp_min_score
    )
    persona_code, persona_score, persona_reasons = _best(
        rules.personas, facts, values, rules.persona_min_score
    )
    return {
        "icp_code": icp_code,
        "icp_score": icp_score,
        "persona_code": persona_code,
        "persona_score": persona_score,
        "reasons": [f"icp {r}" for r in icp_reasons]
        + [f"persona {r}" for r in persona_reasons],
        "rules_version": rules.version,
    }


def _title_facts(title: TitleProfile) -> dict[str, Any]:
    """The parsed title as the ``title.*`` fields persona rules read."""
    return {
        "seniority": title.seniority,
        "department": title.department,
        "is_professional": title.is_professional,
    }


def _best(
    profiles: tuple[Profile, ...],
    facts: Mapping[str, Any],
    values: dict[tuple[str, ...], Any],
    min_score: int,
) -> tuple[str | None, int, list[str]]:
    """The winning code (or None under the threshold), its score and its reasons."""
    best: Profile | None = None
    best_score = 0
    for profile in profiles:
        score = _score(profile, facts, values)
        if score > best_score:
            best, best_score = profile, score

    if best is None or best_score < min_score:
        return None, best_score, []
    return best.code, best_score, _reasons(best, facts, values)


def _score(
    profile: Profile, facts: Mapping[str, Any], values: dict[tuple[str, ...], Any]
) -> int:
    """Matched weight over total weight, 0 to 100; a failed required criterion is 0."""
    matched = 0.0
    for criterion in profile.criteria:
        if criterion.test(_value(facts, criterion.path, values)):
            matched += criterion.weight
        elif criterion.required:
            return 0
    # Half rounds up, as people expect of a percentage.
    return int(matched * 100 / profile.total_weight + 0.5)


def _reasons(
    profile: Profile, facts: Mapping[str, Any], values: dict[tuple[str, ...], Any]
) -> list[str]:
    """One line per matched criterion, naming the value seen unless it is private."""
    lines = []
    for criterion in profile.criteria:
        actual = _value(facts, criterion.path, values)
        if criterion.test(actual):
            lines.append(f"{profile.code}: {criterion.explain(actual)}")
    return lines


def _value(
    facts: Mapping[str, Any], path: tuple[str, ...], values: dict[tuple[str, ...], Any]
) -> Any:
    """The value at ``path``, remembered in ``values`` for the other profiles."""
    if path in values:
        return values[path]
    value = values[path] = _lookup(facts, path)
    return value


def _lookup(facts: Mapping[str, Any], path: tuple[str, ...]) -> Any:
    """The value at a dotted path; None when any step is missing or not an object."""
    value: Any = facts
    for key in path:
        # Decoded JSON and Avro are plain dicts; the ABC check is the slow path.
        if type(value) is not dict and not isinstance(value, Mapping):
            return None
        value = value.get(key)
    return value
