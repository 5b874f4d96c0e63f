"""A standalone gateway process and a load sender for the gateway-load tests."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaException, TopicPartition

from deploy.local_kafka import pick_port
from schemas import codec
from schemas.topics import SIGNALS_RAW


def signal_body(tag: str, number: int) -> dict[str, Any]:
    """A distinct valid signal: field case B05/B06's template with ``{n}`` filled."""
    return {
        "signal_type": "website_visit",
        "source": "web_tracker",
        "event_name": "pricing_page_viewed",
        "occurred_at": "2024-05-01T12:00:00Z",
        "identity": {
            "email": f"{tag}{number}@example.com",
            "company_domain": "example.com",
            "first_name": "Jane",
            "last_name": "Doe",
        },
        "context": {"page_url": "https://example.com/pricing"},
    }


@dataclass
class GatewayProcess:
    """``python -m ingest_gateway`` on its own port with the given settings."""

    bootstrap: str
    prefix: str
    log_path: Path
    settings: dict[str, str] = field(default_factory=dict)
    port: int = 0
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 60.0) -> None:
        """Start the process and return once it answers ready."""
        self.port = pick_port(0)
        env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
        env.update(
            {
                "KAFKA_BOOTSTRAP_SERVERS": self.bootstrap,
                "UNSTUCK_TOPIC_PREFIX": self.prefix,
                "UNSTUCK_PORT": str(self.port),
                "UNSTUCK_REPLY_TIMEOUT_SECONDS": "0",
                **self.settings,
            }
        )
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "ingest_gateway"],
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        wait_ready(self.url, timeout, self)

    def stop(self) -> None:
        """End the process if a test left it running."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace")

    def events(self, name: str) -> list[dict[str, Any]]:
        """The JSON log lines of one event name."""
        found = []
        for line in self.log_text().splitlines():
            if line.startswith("{") and f'"{name}"' in line:
                event = json.loads(line)
                if event.get("event") == name:
                    found.append(event)
        return found


def wait_ready(url: str, timeout: float, owner: GatewayProcess | None = None) -> None:
    """Poll ``/readyz`` until it answers 200."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if owner is not None and not owner.alive():
            raise RuntimeError(f"gateway exited:\n{owner.log_text()[-3000:]}")
        try:
            with urllib.request.urlopen(f"{url}/readyz", timeout=2) as answer:
                if answer.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.2)
    raise TimeoutError(f"{url} not ready in {timeout}s")


@dataclass(frozen=True)
class Answer:
    """One response as the load tests judge it."""

    status: int
    headers: dict[str, str]
    document: Any


async def post_signal(
    session: aiohttp.ClientSession, url: str, api_key: str, body: dict[str, Any]
) -> Answer:
    """POST one signal; a dropped connection is status 0."""
    headers = {"Authorization": f"Bearer {api_key}"}
    try:
        async with session.post(f"{url}/signals", json=body, headers=headers) as r:
            document = await r.json(content_type=None)
            return Answer(r.status, dict(r.headers), document)
    except aiohttp.ClientConnectionError:
        return Answer(0, {}, None)


async def send_all(
    url: str, api_key: str, bodies: list[dict[str, Any]], concurrency: int
) -> list[Answer]:
    """Send every body with at most ``concurrency`` requests in flight."""
    gate = asyncio.Semaphore(concurrency)
    timeout = aiohttp.ClientTimeout(total=30)
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(timeout=timeout, connector=connector) as session:

        async def one(body: dict[str, Any]) -> Answer:
            async with gate:
                return await post_signal(session, url, api_key, body)

        return list(await asyncio.gather(*(one(b) for b in bodies)))


def raw_capture_ids(
    bootstrap: str, prefix: str, workspace_id: str, expected: set[str]
) -> set[str]:
    """A workspace's capture ids in the raw topic, read until ``expected`` all show.

    Reading stops at the first moment every expected id was seen (or after a
    two minutes), so a missing id fails the caller's comparison instead of hanging.
    """
    topic = SIGNALS_RAW.name(prefix)
    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": f"count-{uuid.uuid4().hex}",
            "enable.auto.commit": False,
            "auto.offset.reset": "earliest",
            "isolation.level": "read_uncommitted",
        }
    )
    found: set[str] = set()
    try:
        # Assigned, not subscribed: a broker just restarted may take a long while
        # to load its group coordinator, and reading needs none.
        consumer.assign(
            [
                TopicPartition(topic, p, OFFSET_BEGINNING)
                for p in range(SIGNALS_RAW.partitions)
            ]
        )
        deadline = time.monotonic() + 120
        while not expected <= found and time.monotonic() < deadline:
            for message in consumer.consume(1000, 0.5):
                if message.error() is not None:
                    continue
                value = codec.decode("signal_raw", message.value())
                if value["workspace_id"] == workspace_id:
                    found.add(value["capture_id"])
    finally:
        consumer.close()
    return found


def metric_value(url: str, name: str) -> float:
    """The sum of a metric's samples on the gateway's /metrics page."""
    with urllib.request.urlopen(f"{url}/metrics", timeout=5) as answer:
        text = answer.read().decode()
    total = 0.0
    for line in text.splitlines():
        sample, _, value = line.rpartition(" ")
        if sample == name or sample.startswith(name + "{"):
            total += float(value)
    return total


def wait_leaders(bootstrap: str, topic: str, timeout: float = 120.0) -> None:
    """Wait until every partition of ``topic`` has a leader again.

    A broker that restarts after an unclean stop serves metadata before the
    controller has unfenced it, and until then its partitions have no leader.
    """
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": "leaders"})
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            with contextlib.suppress(KafkaException):
                metadata = consumer.list_topics(topic, timeout=5).topics.get(topic)
                if metadata is not None and metadata.partitions:
                    leaders = [p.leader for p in metadata.partitions.values()]
                    if metadata.error is None and min(leaders) >= 0:
                        return
            time.sleep(0.5)
    finally:
        consumer.close()
    raise TimeoutError(f"{topic} still has partitions without a leader")
