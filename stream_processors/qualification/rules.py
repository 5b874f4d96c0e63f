"""Per-workspace ICP and persona definitions, parsed once from their JSON form.

A workspace writes its rules as JSON (the shape of ``DEFAULT_RULES_SPEC``); the
processor parses them when the workspace config changes, not per signal, and keys
the result by the JSON text so repeated config snapshots cost nothing.

Each ICP or persona is a list of weighted criteria. Its score is the matched weight
over the total weight, 0 to 100; a ``required`` criterion that fails makes the score
0. ICP criteria read ``company.*``, ``identity.*`` and ``context.*``; persona criteria
read ``title.*`` (the parsed title), ``identity.*`` and ``context.*``.
``rules_version`` is a short hash of the canonical rules, so a stored qualification
says which rules produced it and equal rules always share a version.
"""

from __future__ import annotations

import functools
import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from stream_processors.qualification.criteria import Criterion, compile_criterion
from stream_processors.qualification.errors import RulesError
from stream_processors.qualification.titles import DEPARTMENTS, SENIORITIES

__all__ = [
    "DEFAULT_RULES",
    "DEFAULT_RULES_SPEC",
    "Profile",
    "Rules",
    "RulesError",
    "parse_rules",
    "rules_from_json",
]

COMPANY_FIELDS: Final = frozenset(
    {
        "domain",
        "name",
        "industry",
        "employees",
        "country",
        "region",
        "technologies",
        "funding_total_usd",
    }
)
IDENTITY_FIELDS: Final = frozenset(
    {"email", "linkedin_url", "company_domain", "first_name", "last_name", "title"}
)
TITLE_FIELDS: Final = frozenset({"seniority", "department", "is_professional"})
_TITLE_VOCABULARY: Final = {
    "seniority": frozenset(SENIORITIES),
    "department": frozenset(DEPARTMENTS),
}

_ROOTS: Final = {
    "icps": ("company", "identity", "context"),
    "personas": ("title", "identity", "context"),
}
_TOP_KEYS: Final = frozenset({"icps", "personas", "thresholds"})
_PROFILE_KEYS: Final = frozenset({"code", "description", "criteria"})
_CODE: Final = re.compile(r"[A-Z][A-Z0-9_]{0,63}")
_CONTEXT_SEGMENT: Final = re.compile(r"[A-Za-z0-9_\-]{1,64}")

# Bounds that keep one workspace's rules from costing every signal real time.
MAX_PROFILES: Final = 64
MAX_CRITERIA: Final = 32
MAX_RULES_BYTES: Final = 256 * 1024
DEFAULT_MIN_SCORE: Final = 50


@dataclass(frozen=True, slots=True)
class Profile:
    """One ICP or persona: a code and its compiled, weighted criteria."""

    code: str
    description: str
    criteria: tuple[Criterion, ...]
    total_weight: float


@dataclass(frozen=True, slots=True)
class Rules:
    """A workspace's compiled rules; immutable, so one instance serves every signal."""

    icps: tuple[Profile, ...]
    personas: tuple[Profile, ...]
    icp_min_score: int
    persona_min_score: int
    version: str
    spec: str


def parse_rules(source: str | bytes | Mapping[str, Any]) -> Rules:
    """Validate and compile rules from JSON text or an already decoded object."""
    if isinstance(source, str | bytes):
        return rules_from_json(source if isinstance(source, str) else source.decode())
    return _compile(source)


@functools.lru_cache(maxsize=256)
def rules_from_json(text: str) -> Rules:
    """Compile rules from JSON text, cached by text: configs repeat across snapshots."""
    if len(text) > MAX_RULES_BYTES:
        raise RulesError("", f"rules must be at most {MAX_RULES_BYTES} bytes")
    try:
        decoded = json.loads(text)
    except ValueError as error:
        raise RulesError("", f"not valid JSON: {error}") from error
    return _compile(decoded)


def _compile(raw: Any) -> Rules:
    """Validate every part, then freeze the result with its version hash."""
    if not isinstance(raw, Mapping):
        raise RulesError("", "rules must be a JSON object")
    for key in raw:
        if key not in _TOP_KEYS:
            raise RulesError(str(key), "unknown key")
    icp_min, persona_min = _thresholds(raw.get("thresholds", {}))

    icps = _profiles(raw.get("icps", []), "icps")
    personas = _profiles(raw.get("personas", []), "personas")
    canonical = _canonical(icps, personas, icp_min, persona_min)
    return Rules(
        icps=icps,
        personas=personas,
        icp_min_score=icp_min,
        persona_min_score=persona_min,
        version=hashlib.sha256(canonical.encode()).hexdigest()[:12],
        spec=canonical,
    )


def _thresholds(raw: Any) -> tuple[int, int]:
    """The minimum scores (0-100) below which no code is assigned."""
    if not isinstance(raw, Mapping):
        raise RulesError("thresholds", "must be an object")
    values = []
    for name in raw:
        if name not in ("icp", "persona"):
            raise RulesError(f"thresholds.{name}", "unknown key")
    for name in ("icp", "persona"):
        value = raw.get(name, DEFAULT_MIN_SCORE)
        if (
            isinstance(value, bool)
            or not isinstance(value, int)
            or not 0 <= value <= 100
        ):
            raise RulesError(f"thresholds.{name}", "must be an integer from 0 to 100")
        values.append(value)
    return values[0], values[1]


def _profiles(raw: Any, section: str) -> tuple[Profile, ...]:
    """Every ICP or persona of one section, codes unique within it."""
    if not isinstance(raw, list):
        raise RulesError(section, "must be a list")
    if len(raw) > MAX_PROFILES:
        raise RulesError(section, f"must have at most {MAX_PROFILES} entries")

    profiles: list[Profile] = []
    seen: set[str] = set()
    for index, item in enumerate(raw):
        profile = _profile(item, f"{section}[{index}]", section)
        if profile.code in seen:
            raise RulesError(
                f"{section}[{index}].code", f"duplicate code {profile.code}"
            )
        seen.add(profile.code)
        profiles.append(profile)
    return tuple(profiles)


def _profile(raw: Any, where: str, section: str) -> Profile:
    """One ICP or persona object."""
    if not isinstance(raw, Mapping):
        raise RulesError(where, "must be an object")
    for key in raw:
        if key not in _PROFILE_KEYS:
            raise RulesError(f"{where}.{key}", "unknown key")
    code = raw.get("code")
    if not isinstance(code, str) or not _CODE.fullmatch(code):
        raise RulesError(f"{where}.code", "must match [A-Z][A-Z0-9_]* (at most 64)")
    description = raw.get("description", "")
    if not isinstance(description, str) or len(description) > 500:
        raise RulesError(
            f"{where}.description", "must be text of at most 500 characters"
        )

    criteria_raw = raw.get("criteria")
    if not isinstance(criteria_raw, list) or not criteria_raw:
        raise RulesError(f"{where}.criteria", "must be a non-empty list")
    if len(criteria_raw) > MAX_CRITERIA:
        raise RulesError(f"{where}.criteria", f"must have at most {MAX_CRITERIA} items")
    checker = functools.partial(_check_field, roots=_ROOTS[section])
    criteria = tuple(
        _with_vocabulary(
            compile_criterion(item, f"{where}.criteria[{i}]", checker),
            f"{where}.criteria[{i}].value",
        )
        for i, item in enumerate(criteria_raw)
    )
    return Profile(
        code=code,
        description=description,
        criteria=criteria,
        total_weight=sum(criterion.weight for criterion in criteria),
    )


def _check_field(name: str, where: str, *, roots: tuple[str, ...]) -> tuple[str, ...]:
    """Split a field path and check it names something the scorer can read."""
    path = tuple(name.split("."))
    root = path[0]
    if root not in roots or len(path) < 2:
        allowed = ", ".join(f"{r}.*" for r in roots)
        raise RulesError(where, f"must start with one of {allowed}")

    known = {
        "company": COMPANY_FIELDS,
        "identity": IDENTITY_FIELDS,
        "title": TITLE_FIELDS,
    }
    if root in known:
        if len(path) != 2 or path[1] not in known[root]:
            names = ", ".join(sorted(known[root]))
            raise RulesError(where, f"unknown {root} field; known: {names}")
    elif len(path) > 9 or not all(_CONTEXT_SEGMENT.fullmatch(p) for p in path[1:]):
        raise RulesError(where, "context paths are dot-separated keys of [A-Za-z0-9_-]")
    return path


def _with_vocabulary(criterion: Criterion, where: str) -> Criterion:
    """Reject title values the parser never produces: such a rule could never match."""
    vocabulary = None
    if criterion.path[0] == "title":
        vocabulary = _TITLE_VOCABULARY.get(criterion.path[1])
    if vocabulary is None or criterion.op not in ("eq", "ne", "in", "not_in"):
        return criterion

    many = isinstance(criterion.value, tuple)
    values = criterion.value if many else (criterion.value,)
    for index, value in enumerate(values):
        if value not in vocabulary:
            known = ", ".join(sorted(vocabulary))
            at = f"{where}[{index}]" if many else where
            raise RulesError(at, f"unknown value {value!r}; known: {known}")
    return criterion


def _canonical(
    icps: tuple[Profile, ...],
    personas: tuple[Profile, ...],
    icp_min: int,
    persona_min: int,
) -> str:
    """The rules as canonical JSON: defaults filled in, keys sorted, no whitespace."""
    document = {
        "icps": [_profile_json(profile) for profile in icps],
        "personas": [_profile_json(profile) for profile in personas],
        "thresholds": {"icp": icp_min, "persona": persona_min},
    }
    return json.dumps(
        document, sort_keys=True, separators=(",", ":"), ensure_ascii=True
    )


def _profile_json(profile: Profile) -> dict[str, Any]:
    """One profile in canonical JSON form."""
    return {
        "code": profile.code,
        "description": profile.description,
        "criteria": [
            {
                "field": c.field,
                "op": c.op,
                "value": list(c.value) if isinstance(c.value, tuple) else c.value,
                "weight": c.weight,
                "required": c.required,
            }
            for c in profile.criteria
        ],
    }


_LEADER_RANKS: Final = ["head", "director", "manager", "lead"]

DEFAULT_RULES_SPEC: Final[dict[str, Any]] = {
    "thresholds": {"icp": 50, "persona": 50},
    "icps": [
        {
            "code": "ENTERPRISE",
            "description": "Companies of 1,000 employees or more.",
            "criteria": [
                {
                    "field": "company.employees",
                    "op": "gte",
                    "value": 1000,
                    "required": True,
                }
            ],
        },
        {
            "code": "MID_MARKET",
            "description": "200 to 999 employees; a known stack makes the fit surer.",
            "criteria": [
                {
                    "field": "company.employees",
                    "op": "between",
                    "value": [200, 999],
                    "weight": 2,
                    "required": True,
                },
                {"field": "company.technologies", "op": "exists"},
            ],
        },
        {
            "code": "SMB_TECH",
            "description": "Technology companies under 200 employees.",
            "criteria": [
                {
                    "field": "company.employees",
                    "op": "lt",
                    "value": 200,
                    "weight": 2,
                    "required": True,
                },
                {"field": "company.technologies", "op": "exists", "weight": 2},
                {
                    "field": "company.industry",
                    "op": "in",
                    "value": [
                        "software",
                        "internet",
                        "saas",
                        "information technology",
                        "computer software",
                        "developer tools",
                    ],
                },
            ],
        },
        {
            "code": "STARTUP",
            "description": "Funded startups, smaller than 500 when the size is known.",
            "criteria": [
                {
                    "field": "company.funding_total_usd",
                    "op": "gt",
                    "value": 0,
                    "weight": 2,
                    "required": True,
                },
                {"field": "company.employees", "op": "lt", "value": 500},
            ],
        },
    ],
    "personas": [
        {
            "code": "EXEC_BUYER",
            "description": "C-level and vice presidents, whatever the function.",
            "criteria": [
                {"field": "title.seniority", "op": "in", "value": ["c_level", "vp"]}
            ],
        },
        {
            "code": "ECONOMIC_BUYER",
            "description": "Directors and heads of budget-owning functions.",
            "criteria": [
                {
                    "field": "title.department",
                    "op": "in",
                    "value": ["finance", "operations", "executive", "hr", "legal"],
                    "required": True,
                },
                {
                    "field": "title.seniority",
                    "op": "in",
                    "value": ["head", "director"],
                    "required": True,
                },
            ],
        },
        {
            "code": "TECH_CHAMPION",
            "description": "Leaders of engineering, IT, data and product teams.",
            "criteria": [
                {
                    "field": "title.department",
                    "op": "in",
                    "value": ["engineering", "it", "data", "product"],
                    "required": True,
                },
                {
                    "field": "title.seniority",
                    "op": "in",
                    "value": _LEADER_RANKS,
                    "required": True,
                },
            ],
        },
        {
            "code": "GTM_LEADER",
            "description": "Leaders of sales, marketing and customer success teams.",
            "criteria": [
                {
                    "field": "title.department",
                    "op": "in",
                    "value": ["sales", "marketing", "customer_success"],
                    "required": True,
                },
                {
                    "field": "title.seniority",
                    "op": "in",
                    "value": _LEADER_RANKS,
                    "required": True,
                },
            ],
        },
        {
            "code": "PRACTITIONER",
            "description": "People who would use the product day to day.",
            "criteria": [
                {
                    "field": "title.seniority",
                    "op": "in",
                    "value": ["manager", "lead", "senior", "individual"],
                }
            ],
        },
    ],
}

DEFAULT_RULES: Final = _compile(DEFAULT_RULES_SPEC)
