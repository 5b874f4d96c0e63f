"""``unstuck``: one command in front of every service and every admin task."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Annotated, Any

import psycopg
import typer
from confluent_kafka import KafkaException

from deploy import admin, key_commands
from deploy.cli_audiences import audience_app
from deploy.cli_deliveries import deliveries_app
from deploy.cli_ops import ops_app
from deploy.environment import DEFAULT_DATA_DIR, load_settings_env, require
from deploy.rules_cli import rules_app
from schemas.topic_setup import TopicSetupError

app = typer.Typer(help="Unstuck Engine: the signals pipeline.", no_args_is_help=True)
workspace_app = typer.Typer(help="Workspaces and their API keys.", no_args_is_help=True)
signal_type_app = typer.Typer(help="Custom signal types.", no_args_is_help=True)
webhook_app = typer.Typer(
    help="The workspace's webhook endpoint.", no_args_is_help=True
)
companies_app = typer.Typer(help="The company directory.", no_args_is_help=True)
sink_app = typer.Typer(
    help="Workers that move records out of Kafka.", no_args_is_help=True
)
app.add_typer(workspace_app, name="workspace")
app.add_typer(signal_type_app, name="signal-type")
app.add_typer(webhook_app, name="webhook")
app.add_typer(companies_app, name="companies")
app.add_typer(sink_app, name="sink")
app.add_typer(rules_app, name="rules")
app.add_typer(ops_app)
app.add_typer(audience_app, name="audience")
app.add_typer(deliveries_app, name="deliveries")
key_commands.register(workspace_app)


@app.callback()
def configure() -> None:
    """Log to stderr, so --json output on stdout stays machine-readable."""
    from schemas.observability import configure_logging

    configure_logging("cli")


JsonOption = Annotated[bool, typer.Option("--json", help="Machine-readable output.")]


def emit(document: dict[str, Any], as_json: bool, lines: list[str]) -> None:
    if as_json:
        typer.echo(json.dumps(document, indent=2, default=str))
    else:
        for line in lines:
            typer.echo(line)


@app.command()
def dev(
    data_dir: Annotated[
        Path, typer.Option("--data-dir", help="Where Kafka, PostgreSQL and logs live.")
    ] = DEFAULT_DATA_DIR,
    port: Annotated[int, typer.Option("--port", help="Gateway port.")] = 8080,
) -> None:
    """Start Kafka, PostgreSQL and every service on this machine."""
    from deploy.devstack import run_dev

    run_dev(data_dir, port)


@app.command()
def gateway() -> None:
    """Run one ingest gateway, configured by the environment."""
    load_settings_env()
    from ingest_gateway.__main__ import main

    main()


@app.command()
def processor() -> None:
    """Run one stream processor worker, configured by the environment."""
    load_settings_env()
    from stream_processors.__main__ import main

    main()


@sink_app.command("records")
def sink_records() -> None:
    """Run the records sink: records topic to PostgreSQL."""
    load_settings_env()
    from sinks.records.worker import main

    main()


@sink_app.command("webhooks")
def sink_webhooks() -> None:
    """Run the webhook sink: webhooks topic to the workspaces' endpoints."""
    load_settings_env()
    from sinks.webhooks.worker import main

    main()


@sink_app.command("audiences")
def sink_audiences() -> None:
    """Run the audience sink: membership changes to PostgreSQL."""
    load_settings_env()
    from sinks.audiences.worker import main

    main()


@workspace_app.command("create")
def workspace_create(name: str, as_json: JsonOption = False) -> None:
    """Create a workspace; its API key is shown once and stored only hashed."""
    load_settings_env()
    config, api_key = admin.create_workspace(name)
    emit(
        {"workspace_id": config["workspace_id"], "name": name, "api_key": api_key},
        as_json,
        [
            f"workspace {name} ({config['workspace_id']})",
            f"API key (shown once): {api_key}",
        ],
    )


@workspace_app.command("limits")
def workspace_limits(
    per_minute: Annotated[
        int | None, typer.Option("--per-minute", min=1, help="Events a minute.")
    ] = None,
    per_day: Annotated[
        int | None, typer.Option("--per-day", min=1, help="Events a day.")
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Show or change the event budgets of the workspace of UNSTUCK_API_KEY."""
    load_settings_env()
    api_key = require("UNSTUCK_API_KEY")
    if per_minute is None and per_day is None:
        limits = admin.limits_of(admin.current_workspace(api_key))
    else:
        limits = admin.set_limits(api_key, per_minute, per_day)
    emit(
        limits,
        as_json,
        [
            f"{limits['rate_limit_per_minute']:,} events a minute, "
            f"{limits['rate_limit_per_day']:,} a day"
        ],
    )


@signal_type_app.command("add")
def signal_type_add(
    name: str,
    description: Annotated[str, typer.Option("--description")],
    autoqualify: Annotated[bool, typer.Option("--autoqualify/--no-autoqualify")] = True,
    sub_rules: Annotated[
        str, typer.Option("--sub-rules", help="JSON list of sub-rules.")
    ] = "[]",
    as_json: JsonOption = False,
) -> None:
    """Declare a custom signal type in the workspace of UNSTUCK_API_KEY."""
    load_settings_env()
    declared = admin.add_signal_type(
        require("UNSTUCK_API_KEY"), name, description, autoqualify, sub_rules
    )
    verb = "updated" if declared["updated"] else "declared"
    emit(declared, as_json, [f"signal type {declared['key']} {verb}"])


@webhook_app.command("set")
def webhook_set(url: str, as_json: JsonOption = False) -> None:
    """Send every qualification result of the workspace to URL, signed."""
    load_settings_env()
    secret = admin.set_webhook(require("UNSTUCK_API_KEY"), url)
    emit(
        {"url": url, "secret": secret},
        as_json,
        [f"webhook set to {url}", f"signing secret (shown once): {secret}"],
    )


@webhook_app.command("rotate-secret")
def webhook_rotate_secret(as_json: JsonOption = False) -> None:
    """Add a second signing secret; every delivery is signed with both."""
    load_settings_env()
    secret = admin.rotate_webhook_secret(require("UNSTUCK_API_KEY"))
    emit(
        {"secret": secret},
        as_json,
        [
            f"new signing secret (shown once): {secret}",
            "deliveries carry both signatures until `unstuck webhook drop-old-secrets`",
        ],
    )


@webhook_app.command("drop-old-secrets")
def webhook_drop_old_secrets(as_json: JsonOption = False) -> None:
    """Keep only the newest signing secret."""
    load_settings_env()
    dropped = admin.drop_old_webhook_secrets(require("UNSTUCK_API_KEY"))
    emit({"dropped": dropped}, as_json, [f"dropped {dropped} older secret(s)"])


@companies_app.command("load")
def companies_load(file: Path, as_json: JsonOption = False) -> None:
    """Load a company list (CSV or JSON Lines) into the directory."""
    load_settings_env()
    counts = admin.load_companies(file)
    emit(counts, as_json, [f"loaded {counts['loaded']} companies from {file}"])


@app.command()
def replay(
    paths: list[Path],
    vendor: Annotated[str | None, typer.Option("--vendor")] = None,
    as_json: JsonOption = False,
) -> None:
    """Map vendor payload files to signals and POST them to the gateway."""
    load_settings_env()
    summary = admin.replay_vendor_files(
        require("UNSTUCK_URL"), require("UNSTUCK_API_KEY"), paths, vendor
    )
    counts = summary["counts"]
    if counts:
        answered = sorted(counts.items())
        answers = ", ".join(f"{n} answered {code}" for code, n in answered)
        line = f"sent {sum(counts.values())} signals: {answers}"
    else:
        line = "nothing sent: no file held a payload this command recognises"
    emit(summary, as_json, [line])


# Mistakes a user makes and infrastructure a user has not started: each is told in
# one line, not as a traceback. Anything else is a bug and keeps its traceback.
USER_ERRORS = (FileNotFoundError, IsADirectoryError, PermissionError, ValueError)


def main() -> None:
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    try:
        app()
    except USER_ERRORS as error:
        raise SystemExit(f"error: {describe(error)}") from None
    except KafkaException as error:
        raise SystemExit(
            f"error: Kafka did not answer ({error.args[0].str()}); is `unstuck dev` "
            "running, or KAFKA_BOOTSTRAP_SERVERS right?"
        ) from None
    except psycopg.OperationalError as error:
        raise SystemExit(
            f"error: PostgreSQL did not answer ({error}); is `unstuck dev` running, "
            "or DATABASE_URL right?"
        ) from None
    except TopicSetupError as error:
        raise SystemExit(f"error: {error}") from None


def describe(error: OSError | ValueError) -> str:
    """One line naming the file where the error is about one."""
    if isinstance(error, OSError) and error.filename is not None:
        return f"{error.strerror}: {error.filename}"
    return str(error)
