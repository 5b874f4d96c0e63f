"""The readable face of ``unstuck status``: rich tables on the terminal."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table

from deploy.ops.status import StatusReport


def _rate(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}/s"


def _seconds(value: float | None) -> str:
    return "?" if value is None else f"{value:.1f}s"


def render_status(console: Console, report: StatusReport) -> None:
    """Three tables: topics, consumer groups, and the members of each group."""
    topics = Table(
        "topic",
        "partitions",
        "end offset",
        "retained",
        "produced",
        title=f"topics (prefix {report.prefix or 'none'})",
    )
    for topic in report.topics:
        topics.add_row(
            topic.name,
            str(topic.partitions),
            str(topic.end_offset),
            str(topic.retained),
            _rate(topic.rate_per_s),
        )
    console.print(topics)

    groups = Table(
        "group",
        "state",
        "members",
        "lag (messages)",
        "lag (age)",
        "consumed",
        title="consumer groups",
    )
    for group in report.groups:
        groups.add_row(
            group.group_id,
            group.state,
            str(len(group.members)),
            str(group.lag_messages),
            _seconds(group.lag_seconds),
            _rate(group.consumed_per_s),
        )
    console.print(groups)

    members = Table("group", "client", "host", "partitions", title="workers alive")
    for group in report.groups:
        for member in group.members:
            owned = [p for p in member.assignment if "-changelog:" not in p]
            members.add_row(
                group.group_id, member.client_id, member.host, ", ".join(owned)
            )
    console.print(members)

    dead = ", ".join(f"{name}: {count}" for name, count in report.dead_letters.items())
    console.print(f"dead letters retained: {dead or 'none'}")
