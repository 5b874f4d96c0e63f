"""``unstuck deliveries``: the webhook delivery log, redelivery and endpoint health.

Every verb acts on the workspace of ``UNSTUCK_API_KEY``, so a key never reads or
redelivers another workspace's webhooks.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any

import typer

from deploy.environment import load_settings_env, require

deliveries_app = typer.Typer(
    help="Webhook deliveries: the log, redelivery, endpoint health.",
    no_args_is_help=True,
)

JsonOption = Annotated[bool, typer.Option("--json", help="Machine-readable output.")]


class Status(StrEnum):
    """Which attempts ``list`` shows."""

    failed = "failed"
    delivered = "delivered"
    all = "all"


def _context() -> tuple[Any, str]:
    """The sink settings and the workspace id of the caller's key."""
    load_settings_env()
    from deploy import admin
    from sinks.settings import SinkSettings

    workspace = admin.current_workspace(require("UNSTUCK_API_KEY"))
    return SinkSettings(), str(workspace["workspace_id"])


def _echo(
    rows: list[dict[str, Any]], as_json: bool, line: Callable[[dict[str, Any]], str]
) -> None:
    if as_json:
        typer.echo(json.dumps(rows, indent=2, default=str))
        return
    for row in rows:
        typer.echo(line(row))


def delivery_line(row: dict[str, Any]) -> str:
    """One attempt; an attempt that got no answer says so instead of a blank code."""
    code = row.get("status_code")
    answer = "no response" if code is None else f"status {code}"
    line = (
        f"{row['attempted_at']} {row['webhook_id']} attempt {row['attempt']}"
        f" capture {row['capture_id']} {answer} delivered={row['delivered']}"
    )
    return f"{line} {row['error']}" if row.get("error") else line


def endpoint_line(row: dict[str, Any]) -> str:
    """One endpoint; why it is disabled, or its last error while it is failing."""
    line = f"{row['url']} {row['status']} failures={row['consecutive_failures']}"
    if row.get("disabled_reason"):
        return f"{line} {row['disabled_reason']}"
    if row.get("consecutive_failures") and row.get("last_error"):
        return f"{line} last error: {row['last_error']}"
    return line


@deliveries_app.command("list")
def deliveries_list(
    capture: Annotated[
        str | None, typer.Option("--capture", help="Only this capture id.")
    ] = None,
    status: Annotated[Status, typer.Option("--status")] = Status.all,
    limit: Annotated[int, typer.Option("--limit", min=1)] = 50,
    as_json: JsonOption = False,
) -> None:
    """Show the latest delivery attempts, newest first."""
    from sinks.webhooks.admin import list_deliveries

    settings, workspace_id = _context()
    delivered = None if status is Status.all else status is Status.delivered
    rows = list_deliveries(
        settings.database_url, workspace_id, capture, delivered, limit
    )
    _echo(rows, as_json, delivery_line)


@deliveries_app.command("redeliver")
def deliveries_redeliver(
    webhook_ids: Annotated[
        list[str] | None, typer.Argument(help="Webhook ids to send again.")
    ] = None,
    since: Annotated[
        datetime | None, typer.Option("--since", help="First attempt at or after.")
    ] = None,
    until: Annotated[
        datetime | None, typer.Option("--until", help="First attempt before.")
    ] = None,
    include_delivered: Annotated[
        bool, typer.Option("--include-delivered", help="Range: also delivered ones.")
    ] = False,
    as_json: JsonOption = False,
) -> None:
    """Re-enqueue webhooks by id, or those of a time range not yet delivered."""
    from sinks.webhooks.admin import redeliver

    if not webhook_ids and since is None and until is None:
        raise typer.BadParameter("give webhook ids, or --since/--until")
    settings, workspace_id = _context()
    done = redeliver(
        settings, workspace_id, webhook_ids, since, until, include_delivered
    )
    rows = [{"webhook_id": r.webhook_id, "attempt": r.attempt} for r in done]
    _echo(
        rows,
        as_json,
        lambda r: f"re-enqueued {r['webhook_id']} as attempt {r['attempt']}",
    )
    if not as_json:
        typer.echo(f"{len(rows)} webhook(s) re-enqueued")


@deliveries_app.command("endpoints")
def deliveries_endpoints(as_json: JsonOption = False) -> None:
    """Show the workspace's endpoints, their health and why one is disabled."""
    from sinks.webhooks.admin import list_endpoints

    settings, workspace_id = _context()
    rows = list_endpoints(settings.database_url, workspace_id)
    _echo(rows, as_json, endpoint_line)


@deliveries_app.command("enable")
def deliveries_enable(url: str, as_json: JsonOption = False) -> None:
    """Deliver to a disabled endpoint again (redeliver what it missed after)."""
    from sinks.webhooks.admin import enable_endpoint

    settings, workspace_id = _context()
    found = enable_endpoint(settings.database_url, workspace_id, url)
    _echo(
        [{"url": url, "enabled": found}],
        as_json,
        lambda r: f"{r['url']} enabled={r['enabled']}",
    )
