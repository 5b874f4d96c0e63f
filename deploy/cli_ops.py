"""Operator verbs of ``unstuck``: init, status, tail, send and dlq.

Each reads its settings from the environment (``dev.env`` fills the gaps), prints
a readable view by default and a JSON document with ``--json``.
"""

from __future__ import annotations

import json
import signal
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    Task,
    TimeElapsedColumn,
)
from rich.table import Table
from rich.text import Text

from deploy.environment import load_settings_env, require
from deploy.ops.target import kafka_target, replication_factor

if TYPE_CHECKING:
    from deploy.ops.send import Wait

ops_app = typer.Typer()
dlq_app = typer.Typer(help="Dead letters: list, show, redrive.", no_args_is_help=True)
ops_app.add_typer(dlq_app, name="dlq")

JsonOption = Annotated[bool, typer.Option("--json", help="Machine-readable output.")]
WorkspaceOption = Annotated[
    str | None, typer.Option("--workspace", help="Only this workspace id.")
]


def _print_json(document: Any) -> None:
    typer.echo(json.dumps(document, indent=2, default=str))


@ops_app.command()
def init() -> None:
    """Create the topic catalog and the database tables; safe to run on every deploy."""
    load_settings_env()
    from schemas.topic_setup import ensure_topics
    from sinks.records.migrate import migrate

    target = kafka_target()
    names = ensure_topics(
        target.bootstrap, target.prefix, replication_factor=replication_factor()
    )
    migrate(require("DATABASE_URL"))
    typer.echo(f"{len(names)} topics ready; database migrated")


@ops_app.command()
def status(
    interval: Annotated[
        float, typer.Option("--interval", help="Seconds between the two samples.")
    ] = 1.0,
    as_json: JsonOption = False,
) -> None:
    """Topics, consumer groups with lag, live workers, rates and dead letters."""
    load_settings_env()
    from deploy.ops.status import collect_status
    from deploy.ops.status_view import render_status

    report = collect_status(kafka_target(), interval)
    if as_json:
        _print_json(report.as_json())
    else:
        render_status(Console(), report)


@ops_app.command()
def tail(
    topic: Annotated[str, typer.Argument(help="A catalog topic, e.g. records.")],
    workspace: WorkspaceOption = None,
    signal_type: Annotated[str | None, typer.Option("--signal-type")] = None,
    max_messages: Annotated[
        int | None, typer.Option("--max", help="Stop after N messages.")
    ] = None,
    from_beginning: Annotated[
        bool, typer.Option("--from-beginning", help="Start at the oldest message.")
    ] = False,
    idle_timeout: Annotated[
        float | None, typer.Option("--idle-timeout", help="Stop after N quiet seconds.")
    ] = None,
) -> None:
    """Print decoded messages of TOPIC as they arrive, one JSON object a line."""
    load_settings_env()
    from deploy.ops.tail import TailFilter, tail

    stopping: list[bool] = []
    signal.signal(signal.SIGTERM, lambda *_: stopping.append(True))
    messages = tail(
        kafka_target(),
        topic,
        TailFilter(workspace, signal_type),
        max_messages=max_messages,
        from_beginning=from_beginning,
        idle_timeout=idle_timeout,
        should_stop=lambda: bool(stopping),
    )
    try:
        for document in messages:
            typer.echo(json.dumps(document, default=str))
    except KeyboardInterrupt:
        return


@ops_app.command()
def send(
    file: Annotated[Path, typer.Argument(help="JSON Lines (.jsonl) or CSV (.csv).")],
    rate: Annotated[
        float | None, typer.Option("--rate", help="At most N signals a second.")
    ] = None,
    batch_size: Annotated[
        int, typer.Option("--batch-size", min=1, max=1000, help="Signals a request.")
    ] = 500,
    max_retries: Annotated[int, typer.Option("--max-retries", min=0)] = 20,
    as_json: JsonOption = False,
) -> None:
    """Send a vendor feed through POST /signals/batch, with progress and a summary.

    Exits 0 when every row was accepted or a duplicate, and 1 when any row was
    rejected, so a script can tell a clean feed from one that needs fixing.
    """
    load_settings_env()
    from deploy.ops.feed import read_feed
    from deploy.ops.send import Sender, SendOptions, summary_lines

    rows = read_feed(file)
    options = SendOptions(
        require("UNSTUCK_URL"),
        require("UNSTUCK_API_KEY"),
        batch_size,
        rate,
        max_retries,
    )
    console = Console(stderr=True)
    with _Progress(console, len(rows)) as progress:
        sender = Sender(options, on_progress=progress.advance, on_wait=progress.wait)
        summary = sender.send_all(rows)

    if as_json:
        _print_json(summary.as_json())
    else:
        for line in summary_lines(summary):
            typer.echo(line)
    if summary.rejected:
        raise typer.Exit(1)


class _Progress:
    """A rich bar on a terminal; plain ``sent N/M rows`` lines anywhere else.

    A wait for the gateway would otherwise look like a hung command: the bar
    counts down to the retry, and plain output says once in a while what it
    waits for.
    """

    # Plain output tells at most one wait in this many seconds, unless its reason
    # changed: backoffs of 1, 2, 4 ... s would otherwise fill a CI log.
    WAIT_LINE_EVERY_S = 10.0

    def __init__(self, console: Console, total: int) -> None:
        self.console = console
        self.total = total
        self.done = 0
        self.bar: Progress | None = None
        self._told: tuple[str, float] | None = None
        if console.is_terminal:
            self.bar = Progress(
                "sending",
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                _WaitColumn(),
                console=console,
            )
            self.task = self.bar.add_task("send", total=total, retry_at=None, why="")

    def __enter__(self) -> _Progress:
        if self.bar is not None:
            self.bar.start()
        return self

    def advance(self, rows: int) -> None:
        self.done += rows
        if self.bar is not None:
            self.bar.update(self.task, advance=rows, retry_at=None)
        elif rows > 1 or self.done == self.total:
            sys.stderr.write(f"sent {self.done}/{self.total} rows\n")
            sys.stderr.flush()

    def wait(self, wait: Wait) -> None:
        now = time.monotonic()
        if self.bar is not None:
            self.bar.update(self.task, retry_at=now + wait.seconds, why=wait.reason)
            return
        if self._told is not None:
            reason, at = self._told
            if reason == wait.reason and now - at < self.WAIT_LINE_EVERY_S:
                return
        self._told = (wait.reason, now)
        sys.stderr.write(
            f"waiting: {wait.describe()} (retry {wait.attempt} of {wait.max_retries})\n"
        )
        sys.stderr.flush()

    def __exit__(self, *_exc: object) -> None:
        if self.bar is not None:
            self.bar.stop()


class _WaitColumn(ProgressColumn):
    """Why the bar stands still, counting down to the retry; empty otherwise."""

    def render(self, task: Task) -> Text:
        retry_at = task.fields.get("retry_at")
        if retry_at is None:
            return Text("")
        left = retry_at - time.monotonic()
        when = f"retrying in {left:.0f} s" if left >= 0.5 else "retrying now"
        return Text(f"{task.fields.get('why', 'waiting')}, {when}", style="yellow")


@dlq_app.command("list")
def dlq_list(as_json: JsonOption = False) -> None:
    """Dead-letter counts per topic, workspace, stage and reason."""
    load_settings_env()
    from deploy.ops.dlq import read_dead_letters, summarize

    rows = summarize(read_dead_letters(kafka_target()))
    if as_json:
        _print_json(rows)
        return
    columns = ("topic", "workspace_id", "stage", "reason", "count")
    table = Table(*columns, title="dead letters")
    for row in rows:
        table.add_row(*(str(row[c]) for c in columns))
    Console().print(table)


@dlq_app.command("show")
def dlq_show(
    workspace: WorkspaceOption = None,
    reason: Annotated[str | None, typer.Option("--reason")] = None,
    limit: Annotated[int, typer.Option("--limit")] = 20,
) -> None:
    """Dead letters with their original message decoded, as JSON."""
    load_settings_env()
    from deploy.ops.dlq import LetterFilter, read_dead_letters, show

    target = kafka_target()
    wanted = LetterFilter(workspace, reason)
    letters = [d for d in read_dead_letters(target) if wanted.matches(d)]
    _print_json([show(target, d) for d in letters[:limit]])


@dlq_app.command("redrive")
def dlq_redrive(
    workspace: WorkspaceOption = None,
    reason: Annotated[str | None, typer.Option("--reason")] = None,
    stage: Annotated[str | None, typer.Option("--stage")] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run")] = False,
    as_json: JsonOption = False,
) -> None:
    """Republish the original bytes of matching dead letters to their source topic."""
    load_settings_env()
    from deploy.ops.dlq import LetterFilter, read_dead_letters, redrive

    target = kafka_target()
    wanted = LetterFilter(workspace, reason, stage)
    letters = [d for d in read_dead_letters(target) if wanted.matches(d)]
    result = redrive(target, letters, dry_run)
    if as_json:
        _print_json(result)
    else:
        verb = "would redrive" if dry_run else "redrove"
        typer.echo(f"{verb} {result['redriven']} ({result['skipped']} skipped)")
