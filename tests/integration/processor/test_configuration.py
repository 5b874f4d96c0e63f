"""Workspace changes reach a running worker without a restart."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from schemas.topics import RECORDS, SIGNALS_RAW
from schemas.workspace import new_workspace, publish_workspace
from stream_processors.qualification.rules import parse_rules
from tests.integration.processor.conftest import Stack
from tests.integration.processor.kafka_io import (
    TopicReader,
    capture_of,
    decoded,
    produce,
    raw_signal,
)

EVERYONE = {
    "icps": [
        {
            "code": "ANY_COMPANY",
            "description": "Every signal with a company domain.",
            "criteria": [{"field": "identity.company_domain", "op": "exists"}],
        }
    ],
    "personas": [],
}
CUSTOM_TYPE = {
    "key": "teammate_invited",
    "display_name": "Teammate invited",
    "description": "product events",
    "autoqualify": True,
    "enabled": True,
    "sub_rules_json": "[]",
}


@pytest.fixture(scope="module")
def stack(make_stack: Callable[..., Stack]) -> Stack:
    """One running worker, no sink: these tests read the records topic."""
    running = make_stack(sink=False)
    running.start_worker()
    return running


def qualification_when_next_captured(
    stack: Stack, workspace_id: str, signal_type: str, done: Callable[[Any], bool]
) -> Any:
    """Send fresh signals until one's record satisfies ``done``; return its result."""
    records = TopicReader(stack.bootstrap, stack.topic(RECORDS.base_name))
    deadline = time.monotonic() + 60
    try:
        while time.monotonic() < deadline:
            message = raw_signal(
                workspace_id, f"{uuid.uuid4().hex[:8]}@example.com", None, signal_type
            )
            produce(stack.bootstrap, stack.topic(SIGNALS_RAW.base_name), [message])
            capture = capture_of(message)
            found = records.wait_for(
                lambda m, c=capture: any(  # type: ignore[misc]
                    r["capture_id"] == c for r in decoded(m, "record")
                )
            )
            record = next(
                r for r in decoded(found, "record") if r["capture_id"] == capture
            )
            if done(record["qualification"]):
                return record["qualification"]
            time.sleep(0.5)
    finally:
        records.close()
    raise TimeoutError("the change never reached the worker")


def test_autoqualify_off_applies_without_restart(stack: Stack) -> None:
    """Turning autoqualify off for a custom type stops its qualification live."""
    config = stack.workspace(custom_signal_types=[CUSTOM_TYPE])
    workspace_id = config["workspace_id"]
    before = qualification_when_next_captured(
        stack, workspace_id, "teammate_invited", lambda q: q is not None
    )

    stack.update(
        {**config, "custom_signal_types": [{**CUSTOM_TYPE, "autoqualify": False}]}
    )
    after = qualification_when_next_captured(
        stack, workspace_id, "teammate_invited", lambda q: q is None
    )

    assert before is not None
    assert after is None
    assert [p.poll() for p in stack.workers()] == [None]


def test_rules_set_from_the_cli_apply_without_restart(
    stack: Stack, tmp_path: Path
) -> None:
    """``unstuck rules set`` validates, stores, and the next records use the rules."""
    config, api_key = new_workspace(f"rules-{uuid.uuid4().hex[:8]}")
    publish_workspace(stack.bootstrap, stack.prefix, config)
    rules_file = tmp_path / "rules.json"
    rules_file.write_text(json.dumps(EVERYONE))
    env = {
        **os.environ,
        "KAFKA_BOOTSTRAP_SERVERS": stack.bootstrap,
        "UNSTUCK_TOPIC_PREFIX": stack.prefix,
        "UNSTUCK_API_KEY": api_key,
    }
    version = parse_rules(json.dumps(EVERYONE)).version

    cli = [sys.executable, "-c", "from deploy.cli import main; main()"]
    subprocess.run(
        [*cli, "rules", "set", str(rules_file)],
        env=env,
        check=True,
        capture_output=True,
        timeout=60,
    )
    shown = subprocess.run(
        [*cli, "rules", "show", "--json"],
        env=env,
        check=True,
        capture_output=True,
        timeout=60,
    )
    result = qualification_when_next_captured(
        stack,
        config["workspace_id"],
        "website_visit",
        lambda q: q is not None and q["rules_version"] == version,
    )

    assert json.loads(shown.stdout)["rules_version"] == version
    assert result["icp_code"] == "ANY_COMPANY"


def test_invalid_rules_are_refused_by_the_cli(tmp_path: Path) -> None:
    """Rules the processor could not compile are refused before any write."""
    rules_file = tmp_path / "rules.json"
    rules_file.write_text(json.dumps({"icps": [{"code": "lower case"}]}))
    env = {**os.environ, "UNSTUCK_API_KEY": "usk_unused"}

    cli = [sys.executable, "-c", "from deploy.cli import main; main()"]
    refused = subprocess.run(
        [*cli, "rules", "set", str(rules_file)],
        env=env,
        capture_output=True,
        timeout=60,
        check=False,
    )

    assert refused.returncode != 0
    assert b"invalid rules" in refused.stderr
