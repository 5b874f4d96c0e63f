"""The workspace's rules applied to one signal: its sub-rule bucket and qualification.

Rules arrive as JSON text inside the workspace record; compiling them is cached by
that text, so a worker compiles each version of a workspace's rules once.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from functools import lru_cache
from typing import Any

import structlog

from stream_processors.qualification.errors import RulesError
from stream_processors.qualification.rules import DEFAULT_RULES, Rules, rules_from_json
from stream_processors.qualification.scoring import qualify
from stream_processors.qualification.subrules import (
    SubRules,
    bucket_for,
    parse_subrules,
)

log = structlog.get_logger("processor.qualify")


def rules_of(rules_json: str | None) -> Rules:
    """The workspace's compiled rules; the default set when it declares none.

    Rules are validated when they are written, so a failure here means the
    record was written by something else; the default set keeps signals flowing
    and the error is logged rather than dead-lettering every signal.
    """
    if not rules_json:
        return DEFAULT_RULES
    try:
        return rules_from_json(rules_json)
    except RulesError as error:
        log.error("qualification.invalid_rules", error=str(error))
        return DEFAULT_RULES


def qualify_lead(
    rules_json: str | None,
    *,
    company: Mapping[str, Any] | None,
    identity: Mapping[str, str | None],
    context: Mapping[str, Any] | None,
) -> dict[str, Any]:
    return qualify(
        rules_of(rules_json), company=company, identity=identity, context=context
    )


@lru_cache(maxsize=1024)
def _compiled_sub_rules(text: str) -> SubRules:
    return parse_subrules(json.loads(text))


def bucket_of(
    sub_rules: Sequence[Any], event_name: str | None, context: Mapping[str, Any] | None
) -> str | None:
    """The first named bucket whose conditions the event meets, if any."""
    if not sub_rules:
        return None
    compiled = _compiled_sub_rules(json.dumps(list(sub_rules), sort_keys=True))
    return bucket_for(compiled, event_name, context)
