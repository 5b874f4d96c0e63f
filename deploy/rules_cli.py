"""``unstuck rules``: a workspace's ICP and persona rules, set and shown.

Rules are validated with the processor's own parser before they are written, so a
worker never meets rules it cannot compile; they are written whole to the
workspace record on the compacted config topic, which every worker follows, so new
rules apply to the next signal without a restart.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Annotated, Any

import typer

from deploy import admin
from deploy.environment import load_settings_env, require
from schemas.workspace import WorkspaceError, publish_workspace
from stream_processors.qualification.errors import RulesError
from stream_processors.qualification.rules import DEFAULT_RULES, parse_rules

rules_app = typer.Typer(
    help="ICP and persona rules of the workspace of UNSTUCK_API_KEY.",
    no_args_is_help=True,
)

JsonOption = Annotated[bool, typer.Option("--json", help="Machine-readable output.")]


@rules_app.command("set")
def rules_set(file: Path, as_json: JsonOption = False) -> None:
    """Validate FILE (JSON rules) and make it the workspace's rules."""
    load_settings_env()
    try:
        rules = parse_rules(file.read_bytes())
    except OSError as error:
        raise SystemExit(f"cannot read {file}: {error}") from error
    except RulesError as error:
        raise SystemExit(f"invalid rules in {file}: {error}") from error

    config = admin.current_workspace(require("UNSTUCK_API_KEY"))
    config["qualification_rules_json"] = rules.spec
    _publish(config)
    summary = _summary(rules.spec, rules.version, default=False)
    _emit(summary, as_json)


@rules_app.command("show")
def rules_show(as_json: JsonOption = False) -> None:
    """Show the workspace's rules (the default set when it declares none)."""
    load_settings_env()
    config = admin.current_workspace(require("UNSTUCK_API_KEY"))
    text = config.get("qualification_rules_json")
    rules = parse_rules(text) if text else DEFAULT_RULES
    _emit(_summary(rules.spec, rules.version, default=not text), as_json)


def _publish(config: dict[str, Any]) -> None:
    bootstrap = require("KAFKA_BOOTSTRAP_SERVERS")
    try:
        publish_workspace(bootstrap, os.environ.get("UNSTUCK_TOPIC_PREFIX", ""), config)
    except WorkspaceError as error:
        raise SystemExit(str(error)) from error


def _summary(spec: str, version: str, *, default: bool) -> dict[str, Any]:
    return {"rules_version": version, "default": default, "rules": json.loads(spec)}


def _emit(summary: dict[str, Any], as_json: bool) -> None:
    if as_json:
        typer.echo(json.dumps(summary, indent=2))
        return
    rules = summary["rules"]
    origin = "default rules" if summary["default"] else "workspace rules"
    typer.echo(f"{origin}, version {summary['rules_version']}")
    typer.echo("ICPs: " + ", ".join(p["code"] for p in rules["icps"]))
    typer.echo("personas: " + ", ".join(p["code"] for p in rules["personas"]))
