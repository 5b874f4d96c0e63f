"""Sub-rules of custom signal types: put each event into a named bucket.

A workspace declares them per custom type, for example::

    [{"bucket": "enterprise_demo",
      "when": {"event_name": "demo_requested", "context.team_size": {"gt": 10}}},
     {"bucket": "demo", "when": {"event_name": "demo_requested"}}]

Rules are tried in order and the first whose every condition holds wins, so the
specific rule goes before the general one; an empty ``when`` is a catch-all. A
condition is a plain value (equality, text compared case-insensitively), a list
(one of), or an object of operators that must all hold, with the operators and
semantics of ICP criteria (``criteria.py``).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from stream_processors.qualification.criteria import (
    OPERATORS,
    Criterion,
    compile_criterion,
)
from stream_processors.qualification.errors import RulesError

MAX_SUBRULES: Final = 64
MAX_CONDITIONS: Final = 16
_BUCKET: Final = re.compile(r"[A-Za-z0-9][A-Za-z0-9_\-]{0,63}")
_CONTEXT_SEGMENT: Final = re.compile(r"[A-Za-z0-9_\-]{1,64}")
_RULE_KEYS: Final = frozenset({"bucket", "when"})


@dataclass(frozen=True, slots=True)
class SubRule:
    """One bucket and the compiled conditions that all must hold to enter it."""

    bucket: str
    conditions: tuple[Criterion, ...]


@dataclass(frozen=True, slots=True)
class SubRules:
    """A custom type's sub-rules in declaration order."""

    rules: tuple[SubRule, ...]


NO_SUBRULES: Final = SubRules(rules=())


def parse_subrules(raw: Any, where: str = "sub_rules") -> SubRules:
    """Validate and compile sub-rules from JSON text or a decoded list.

    ``where`` prefixes error paths, so a caller that nests sub-rules inside a custom
    type's config can make errors read ``custom_types[2].sub_rules[0].when``.
    """
    if isinstance(raw, str | bytes):
        try:
            raw = json.loads(raw)
        except ValueError as error:
            raise RulesError(where, f"not valid JSON: {error}") from error
    if not isinstance(raw, list):
        raise RulesError(where, "must be a list")
    if len(raw) > MAX_SUBRULES:
        raise RulesError(where, f"must have at most {MAX_SUBRULES} rules")

    return SubRules(
        rules=tuple(_subrule(item, f"{where}[{i}]") for i, item in enumerate(raw))
    )


def bucket_for(
    rules: SubRules, event_name: str | None, context: Mapping[str, Any] | None
) -> str | None:
    """The bucket of the first rule whose conditions all hold, or None."""
    facts = {"event_name": event_name, "context": context or {}}
    for rule in rules.rules:
        if all(c.test(_lookup(facts, c.path)) for c in rule.conditions):
            return rule.bucket
    return None


def _subrule(raw: Any, where: str) -> SubRule:
    """One ``{"bucket": ..., "when": {...}}`` object."""
    if not isinstance(raw, Mapping):
        raise RulesError(where, "must be an object")
    for key in raw:
        if key not in _RULE_KEYS:
            raise RulesError(f"{where}.{key}", "unknown key")
    bucket = raw.get("bucket")
    if not isinstance(bucket, str) or not _BUCKET.fullmatch(bucket):
        raise RulesError(f"{where}.bucket", "must match [A-Za-z0-9][A-Za-z0-9_-]*")

    when = raw.get("when", {})
    if not isinstance(when, Mapping):
        raise RulesError(f"{where}.when", "must be an object")
    if len(when) > MAX_CONDITIONS:
        raise RulesError(f"{where}.when", f"must have at most {MAX_CONDITIONS} keys")
    conditions: list[Criterion] = []
    for key, spec in when.items():
        conditions.extend(_conditions(str(key), spec, f"{where}.when.{key}"))
    return SubRule(bucket=bucket, conditions=tuple(conditions))


def _conditions(key: str, spec: Any, where: str) -> list[Criterion]:
    """The criteria one ``when`` entry stands for."""
    if isinstance(spec, Mapping):
        if not spec:
            raise RulesError(where, "must name at least one operator")
        found = []
        for op, value in spec.items():
            if op not in OPERATORS:
                raise RulesError(
                    f"{where}.{op}", f"unknown operator; use {', '.join(OPERATORS)}"
                )
            found.append(_compile(key, op, value, f"{where}.{op}"))
        return found
    op = "in" if isinstance(spec, list) else "eq"
    return [_compile(key, op, spec, where)]


def _compile(key: str, op: str, value: Any, where: str) -> Criterion:
    """Compile one condition, reporting value errors at ``where`` itself."""
    raw = {"field": key, "op": op, "value": value}
    try:
        return compile_criterion(raw, where, _check_field)
    except RulesError as error:
        path = error.path
        for inner in (f"{where}.value", f"{where}.field"):
            if path.startswith(inner):
                path = where + path[len(inner) :]
        raise RulesError(path, error.message) from error


def _check_field(name: str, where: str) -> tuple[str, ...]:
    """``event_name`` or a ``context.`` path; nothing else describes an event here."""
    path = tuple(name.split("."))
    if path == ("event_name",):
        return path
    if path[0] != "context" or len(path) < 2 or len(path) > 9:
        raise RulesError(where, "must be event_name or a context.<key> path")
    if not all(_CONTEXT_SEGMENT.fullmatch(segment) for segment in path[1:]):
        raise RulesError(where, "context paths are dot-separated keys of [A-Za-z0-9_-]")
    return path


def _lookup(facts: Mapping[str, Any], path: tuple[str, ...]) -> Any:
    """The value at a dotted path; None when any step is missing or not an object."""
    value: Any = facts
    for key in path:
        if not isinstance(value, Mapping):
            return None
        value = value.get(key)
    return value
