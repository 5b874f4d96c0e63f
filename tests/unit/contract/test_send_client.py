"""``unstuck send`` parses feeds and honours Retry-After, against a loopback server."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any, ClassVar

import pytest
from typer.testing import CliRunner

from deploy.cli_ops import ops_app
from deploy.ops.feed import FeedRow, read_feed
from deploy.ops.send import (
    RATE_LIMITED,
    UNAVAILABLE,
    Sender,
    SendOptions,
    SendSummary,
    Wait,
    summary_lines,
)


class FakeGateway(BaseHTTPRequestHandler):
    """Answers each POST with the next scripted (status, headers) pair.

    An item with a ``bad`` field is refused the way the gateway refuses an
    invalid signal, naming that field.
    """

    script: ClassVar[list[tuple[int, dict[str, str]]]] = []
    bodies: ClassVar[list[Any]] = []

    def do_POST(self) -> None:
        items = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        self.bodies.append(items)
        status, headers = self.script.pop(0) if self.script else (200, {})
        code = "rate_limited" if status == 429 else "unavailable"
        document: dict[str, Any] = {"error": {"code": code, "message": ""}}
        if status == 200:
            document = {
                "results": [
                    self.result(len(self.bodies), i, item)
                    for i, item in enumerate(items)
                ]
            }
        payload = json.dumps(document).encode()
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    @staticmethod
    def result(request: int, index: int, item: dict[str, Any]) -> dict[str, Any]:
        if item.get("busy_until_request", 0) > request:
            return {
                "index": index,
                "status": 503,
                "error": {"code": "unavailable", "message": "", "fields": []},
            }
        if "bad" not in item:
            return {
                "index": index,
                "status": 202,
                "signal_capture_id": f"c{request}-{index}",
            }
        return {
            "index": index,
            "status": 400,
            "error": {
                "code": "invalid_signal",
                "message": f"invalid fields: {item['bad']['field']}",
                "fields": [item["bad"]],
            },
        }

    def log_message(self, *_args: Any) -> None:
        return


@pytest.fixture
def gateway() -> Iterator[str]:
    """A loopback stand-in for POST /signals/batch."""
    FakeGateway.script = []
    FakeGateway.bodies = []
    server = HTTPServer(("127.0.0.1", 0), FakeGateway)
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
    )
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    server.server_close()


def rows(count: int) -> list[FeedRow]:
    return [
        FeedRow(n + 1, {"signal_type": "custom_event", "n": n}) for n in range(count)
    ]


def test_429_is_retried_after_the_servers_retry_after(gateway: str) -> None:
    """The sender waits the advertised seconds and resends the same batch."""
    FakeGateway.script = [(429, {"Retry-After": "7"}), (503, {"Retry-After": "2"})]
    waits: list[float] = []
    sender = Sender(SendOptions(gateway, "key", batch_size=10), sleep=waits.append)

    summary = sender.send_all(rows(10))

    assert waits == [7.0, 2.0]
    assert summary.accepted == 10
    assert summary.retries == 2
    assert FakeGateway.bodies[0] == FakeGateway.bodies[2]


def test_items_the_broker_could_not_take_are_sent_again(gateway: str) -> None:
    """A 503 item inside a 200 batch is resent alone, after a wait, not rejected."""
    batch = rows(4)
    batch[1] = FeedRow(2, {**(batch[1].body or {}), "busy_until_request": 3})
    waits: list[float] = []
    sender = Sender(SendOptions(gateway, "key", batch_size=4), sleep=waits.append)

    summary = sender.send_all(batch)

    assert summary.accepted == 4
    assert summary.rejected == 0
    assert [len(body) for body in FakeGateway.bodies] == [4, 1, 1]
    assert waits == [1.0, 2.0]


def test_items_still_refused_after_the_last_retry_are_rejected(gateway: str) -> None:
    """Past --max-retries a 503 item is rejected with its reason, never dropped."""
    batch = rows(2)
    batch[0] = FeedRow(1, {**(batch[0].body or {}), "busy_until_request": 99})
    options = SendOptions(gateway, "key", batch_size=2, max_retries=2)

    summary = Sender(options, sleep=lambda _s: None).send_all(batch)

    assert summary.accepted == 1
    assert dict(summary.reasons) == {"unavailable": 1}
    assert len(FakeGateway.bodies) == 3


def test_retries_give_up_and_reject_with_the_reason(gateway: str) -> None:
    """Past --max-retries the batch's rows are rejected, named by the error code."""
    FakeGateway.script = [(429, {"Retry-After": "1"})] * 3
    options = SendOptions(gateway, "key", batch_size=5, max_retries=2)

    summary = Sender(options, sleep=lambda _s: None).send_all(rows(5))

    assert summary.rejected == 5
    assert dict(summary.reasons) == {"rate_limited": 5}


def test_rate_paces_batches(gateway: str) -> None:
    """--rate 10 with batches of 10 holds the second batch back about a second."""
    waits: list[float] = []
    options = SendOptions(gateway, "key", batch_size=10, rate=10)

    Sender(options, sleep=waits.append).send_all(rows(20))

    assert len(waits) == 1
    assert 0.5 < waits[0] <= 1.0


def test_csv_rows_become_bodies_and_bad_rows_are_kept(tmp_path: Path) -> None:
    """Identity columns nest, context parses, an unknown column rejects its row."""
    feed = tmp_path / "feed.csv"
    feed.write_text(
        "signal_type,source,occurred_at,email,identity.title,context\n"
        'custom_event,crm,2026-01-01T00:00:00Z,a@b.co,CTO,"{""team_size"": 4}"\n'
        "custom_event,crm,2026-01-01T00:00:00Z,,,not-json\n",
        encoding="utf-8",
    )

    parsed = read_feed(feed)

    assert parsed[0].body == {
        "signal_type": "custom_event",
        "source": "crm",
        "occurred_at": "2026-01-01T00:00:00Z",
        "identity": {"email": "a@b.co", "title": "CTO"},
        "context": {"team_size": 4},
    }
    assert parsed[1].body is None
    assert parsed[1].error is not None
    assert parsed[1].error.startswith("invalid_csv")


def bad_email(row: int) -> FeedRow:
    """A row the gateway refuses for its email."""
    field = {"field": "identity.email", "message": "not an email address"}
    return FeedRow(row, {"signal_type": "custom_event", "bad": field})


def test_waits_are_reported_with_their_reason_and_counted(gateway: str) -> None:
    """Each wait reaches the progress with why; the summary totals them by cause."""
    FakeGateway.script = [
        (429, {"Retry-After": "58"}),
        (429, {"Retry-After": "30"}),
        (503, {"Retry-After": "2"}),
    ]
    told: list[Wait] = []
    options = SendOptions(gateway, "key", batch_size=10)

    summary = Sender(options, sleep=lambda _s: None, on_wait=told.append).send_all(
        rows(10)
    )

    assert [(w.cause, w.seconds) for w in told] == [
        (RATE_LIMITED, 58.0),
        (RATE_LIMITED, 30.0),
        (UNAVAILABLE, 2.0),
    ]
    assert told[0].describe() == "rate limited by the gateway, retrying in 58 s"
    assert summary.as_json()["waits"] == {
        RATE_LIMITED: {"count": 2, "seconds": 88.0},
        UNAVAILABLE: {"count": 1, "seconds": 2.0},
    }
    assert (
        "waited 2 times, 88 s in all, for the workspace's rate limit (429)"
        in summary_lines(summary)
    )


def test_an_unreachable_gateway_is_named_as_the_reason_to_wait() -> None:
    """Nothing listening is a wait for an unreachable gateway, with the error."""
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    told: list[Wait] = []
    options = SendOptions(
        f"http://127.0.0.1:{port}", "key", batch_size=5, max_retries=1
    )

    summary = Sender(options, sleep=lambda _s: None, on_wait=told.append).send_all(
        rows(5)
    )

    assert [w.cause for w in told] == ["unreachable"]
    assert told[0].reason.startswith("gateway unreachable (")
    assert summary.rejected == 5
    assert summary.rejections[0]["message"]


def test_rejections_are_listed_by_row_with_their_fields(gateway: str) -> None:
    """A local parse error found early is still listed after earlier rows."""
    feed = [
        *rows(1),
        bad_email(2),
        FeedRow(3, None, "invalid_json: Expecting value at column 1"),
    ]

    summary = Sender(SendOptions(gateway, "key", batch_size=10)).send_all(feed)

    assert [r["row"] for r in summary.as_json()["rejections"]] == [2, 3]
    assert summary_lines(summary)[-2:] == [
        "  row 2: identity.email: not an email address",
        "  row 3: invalid_json: Expecting value at column 1",
    ]


def test_a_long_list_of_rejections_says_how_many_more_and_where() -> None:
    """The text shows the first rows; --json keeps every one of them."""
    summary = SendSummary(rows=1500)
    for row in range(1500, 0, -1):
        summary.reject(row, "invalid_signal", "invalid fields: occurred_at")

    lines = summary_lines(summary)

    assert lines[2] == "  row 1: invalid_signal: invalid fields: occurred_at"
    assert lines[21] == "  row 20: invalid_signal: invalid fields: occurred_at"
    assert lines[22] == "  … and 1480 more (see --json for every rejected row)"
    assert len(summary.as_json()["rejections"]) == 1500


def test_broken_json_lines_say_where_the_line_breaks(tmp_path: Path) -> None:
    """The decoder's column is kept: a feed line is often too long to eyeball."""
    feed = tmp_path / "feed.jsonl"
    feed.write_text('{"signal_type": "custom_event"}\n\n{"a": 1,}\n', encoding="utf-8")

    parsed = read_feed(feed)

    assert parsed[1].row == 2
    assert parsed[1].error is not None
    assert parsed[1].error.startswith("invalid_json: ")
    assert parsed[1].error.endswith("at column 9")


def run_send(gateway: str, tmp_path: Path, lines: list[str]) -> Any:
    """``unstuck send`` as a user runs it, against the loopback gateway."""
    feed = tmp_path / "feed.jsonl"
    feed.write_text("\n".join(lines) + "\n", encoding="utf-8")
    env = {
        "UNSTUCK_URL": gateway,
        "UNSTUCK_API_KEY": "key",
        "UNSTUCK_DATA_DIR": str(tmp_path / "no-dev-env"),
    }
    return CliRunner().invoke(ops_app, ["send", str(feed)], env=env)


def test_send_exits_0_when_every_row_is_accepted_or_a_duplicate(
    gateway: str, tmp_path: Path
) -> None:
    """A clean feed, repeats included, is a success."""
    line = json.dumps({"signal_type": "custom_event"})

    result = run_send(gateway, tmp_path, [line, line])

    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("2 rows: 2 accepted, 0 duplicate, 0 rejected")


def test_send_exits_1_when_a_row_is_rejected(gateway: str, tmp_path: Path) -> None:
    """One rejected row is enough for a script to notice."""
    result = run_send(
        gateway, tmp_path, [json.dumps({"signal_type": "custom_event"}), "{oops"]
    )

    assert result.exit_code == 1
    assert "  row 2: invalid_json: " in result.stdout


def test_send_says_what_it_waits_for_without_repeating_itself(
    gateway: str, tmp_path: Path
) -> None:
    """Back-to-back waits for the same reason are told once on plain output."""
    FakeGateway.script = [(429, {"Retry-After": "0"}), (429, {"Retry-After": "0"})]

    result = run_send(gateway, tmp_path, [json.dumps({"signal_type": "custom_event"})])

    waiting = [line for line in result.stderr.splitlines() if "waiting" in line]
    assert waiting == [
        "waiting: rate limited by the gateway, retrying in 0 s (retry 1 of 20)"
    ]
    assert "waited 2 times, 0 s in all, for the workspace's rate limit" in (
        result.stdout
    )
    assert result.exit_code == 0
