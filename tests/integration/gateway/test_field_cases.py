"""Every http and raw_http field case, run from the JSONL file against the pipeline."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.integration.gateway.cases import (
    PRODUCED_STATUSES,
    CaseRun,
    fresh_workspace,
    group_problems,
    load_cases,
    raw_messages,
    raw_offsets,
    response_problems,
    run_case,
    same_capture_problems,
    stored_captures,
)
from tests.integration.pipeline.processes import Pipeline
from tests.integration.receiver import WebhookReceiver

CASES = load_cases()


def _uses_two_workspaces(case: dict[str, Any]) -> bool:
    return "{{API_KEY_WS_B}}" in json.dumps(case)


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
async def test_field_case(
    case: dict[str, Any], pipeline: Pipeline, receiver: WebhookReceiver
) -> None:
    """The case's expectations hold, and only accepted requests reach the raw topic."""
    workspaces = {"A": fresh_workspace(pipeline, receiver)}
    if _uses_two_workspaces(case):
        workspaces["B"] = fresh_workspace(pipeline, receiver)
    run = CaseRun(pipeline, workspaces)
    before = raw_offsets(pipeline.kafka_bootstrap, pipeline.prefix)

    await run_case(case, run)

    problems = [p for o in run.outcomes for p in response_problems(o)]
    problems += same_capture_problems(run.outcomes)
    problems += _identity_group_problems(run, pipeline)
    problems += _raw_topic_problems(run, pipeline, before)
    problems += _roundtrip_problems(run, pipeline)
    assert problems == []


def _identity_group_problems(run: CaseRun, pipeline: Pipeline) -> list[str]:
    """Captures, people and companies grouped as the case's letters say."""
    answered = {
        o.label: o.body["signal_capture_id"]
        for o in run.outcomes
        if isinstance(o.body, dict) and "signal_capture_id" in o.body
    }
    people = {
        o.label: o.body["matched_record_id"]
        for o in run.outcomes
        if isinstance(o.body, dict) and "matched_record_id" in o.body
    }
    problems = group_problems(run.outcomes, "capture_group", answered)
    problems += group_problems(run.outcomes, "person_group", people)

    companies_wanted = [
        o for o in run.outcomes if {"company_group", "normalized"} & o.expect.keys()
    ]
    if not companies_wanted:
        return problems
    stored = stored_captures(
        pipeline.database_url, [answered[o.label] for o in companies_wanted]
    )
    domains = {
        o.label: stored.get(answered[o.label], {})
        .get("identity", {})
        .get("company_domain", "?")
        for o in companies_wanted
    }
    problems += group_problems(run.outcomes, "company_group", domains)
    problems += [
        f"{o.label}: company {domains[o.label]}, wanted {o.expect['normalized']}"
        for o in companies_wanted
        if "normalized" in o.expect and domains[o.label] != o.expect["normalized"]
    ]
    return problems


def _raw_topic_problems(
    run: CaseRun, pipeline: Pipeline, before: dict[int, int]
) -> list[str]:
    """One raw message per accepted request; none for a refused one."""
    accepted = sum(1 for o in run.outcomes if o.status in PRODUCED_STATUSES)
    ids = {ws.id for ws in run.workspaces.values()}
    produced = raw_messages(pipeline.kafka_bootstrap, pipeline.prefix, before, ids)
    if len(produced) == accepted:
        return []
    return [f"{len(produced)} raw messages for {accepted} accepted requests"]


def _roundtrip_problems(run: CaseRun, pipeline: Pipeline) -> list[str]:
    """A value the case marks exact is the same number in PostgreSQL jsonb."""
    problems = []
    for outcome in run.outcomes:
        path = outcome.expect.get("exact_roundtrip")
        if path is None:
            continue
        capture_id = outcome.body["signal_capture_id"]
        stored = stored_captures(pipeline.database_url, [capture_id])[capture_id]
        stored_value: Any = json.loads(stored["context_text"])
        sent_value: Any = json.loads(outcome.sent)["context"]
        for part in path.split(".")[1:]:
            stored_value, sent_value = stored_value[part], sent_value[part]
        if type(stored_value) is not type(sent_value) or stored_value != sent_value:
            problems.append(
                f"{outcome.label}: stored {stored_value!r}, sent {sent_value!r}"
            )
    return problems
