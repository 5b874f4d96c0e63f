"""``unstuck send`` parses feeds and honours Retry-After, against a loopback server."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any, ClassVar

import pytest

from deploy.ops.feed import FeedRow, read_feed
from deploy.ops.send import Sender, SendOptions


class FakeGateway(BaseHTTPRequestHandler):
    """Answers each POST with the next scripted (status, headers) pair."""

    script: ClassVar[list[tuple[int, dict[str, str]]]] = []
    bodies: ClassVar[list[Any]] = []

    def do_POST(self) -> None:
        items = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        self.bodies.append(items)
        status, headers = self.script.pop(0) if self.script else (200, {})
        document: dict[str, Any] = {"error": {"code": "rate_limited", "message": ""}}
        if status == 200:
            document = {
                "results": [
                    {
                        "index": i,
                        "status": 202,
                        "signal_capture_id": f"c{len(self.bodies)}-{i}",
                    }
                    for i, _ in enumerate(items)
                ]
            }
        payload = json.dumps(document).encode()
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

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
