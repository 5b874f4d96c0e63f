"""Throughput and latency of the gateway against a bare produce-the-body handler.

``python -m benchmarks.gateway`` starts a Kafka broker (or uses
``KAFKA_BOOTSTRAP_SERVERS``), the real gateway and ``benchmarks.bare`` as
processes on loopback, drives each with the same bounded load (a fixed number of
requests over N concurrent connections) and prints signals a second, latency
percentiles and the gateway/bare ratios. It asserts nothing: timings depend on the
machine, and the load generator shares its cores with both servers and the broker.

``python -m benchmarks.gateway --cpu`` skips HTTP and Kafka and prints what one
batch item costs in the gateway's own code (parse, validate, key and encode), which
is steadier than the end-to-end figures on a shared machine.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp

from deploy.local_kafka import LocalKafka, pick_port
from ingest_gateway.body import may_hold_bad_text, parse_json
from ingest_gateway.capture import capture_signal
from ingest_gateway.validation import validate_signal
from schemas.topic_setup import ensure_topics
from schemas.workspace import new_workspace, publish_workspace


@dataclass(frozen=True)
class Result:
    """One measured run: what was sent, how fast, how long each request took."""

    name: str
    signals: int
    seconds: float
    latencies: list[float]
    failures: int

    @property
    def rate(self) -> float:
        return self.signals / self.seconds

    def percentile(self, share: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(share * len(ordered)))] * 1000

    def line(self) -> str:
        return (
            f"{self.name:<22} {self.rate:>10,.0f} signals/s"
            f"  p50 {self.percentile(0.5):7.1f} ms  p99 {self.percentile(0.99):7.1f} ms"
            f"  mean {statistics.fmean(self.latencies) * 1000:7.1f} ms"
            f"  failures {self.failures}"
        )


def signal(number: int, run: str) -> dict[str, Any]:
    """A distinct valid signal, shaped like a vendor-feed event."""
    return {
        "signal_type": "website_visit",
        "source": "web_tracker",
        "event_name": "pricing_page_viewed",
        "occurred_at": "2024-05-01T12:00:00Z",
        "identity": {
            "email": f"bench{run}{number}@example.com",
            "linkedin_url": "https://www.linkedin.com/in/jane-doe-example",
            "company_domain": "example.com",
            "first_name": "Jane",
            "last_name": "Doe",
            "title": "VP of Marketing",
        },
        "context": {"page_url": "https://example.com/pricing", "n": number},
    }


async def drive(
    name: str, url: str, bodies: list[bytes], per_body: int, concurrency: int, key: str
) -> Result:
    """POST every body over ``concurrency`` connections and time each request."""
    headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
    connector = aiohttp.TCPConnector(limit=concurrency)
    latencies: list[float] = []
    failures = 0
    queue = list(reversed(bodies))

    async with aiohttp.ClientSession(connector=connector, headers=headers) as session:

        async def worker() -> None:
            nonlocal failures
            while queue:
                body = queue.pop()
                started = time.perf_counter()
                async with session.post(url, data=body) as response:
                    await response.read()
                    if response.status not in (200, 202):
                        failures += 1
                latencies.append(time.perf_counter() - started)

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        seconds = time.perf_counter() - started
    return Result(name, len(bodies) * per_body, seconds, latencies, failures)


def serve(module: str, env: dict[str, str], log: Path) -> tuple[str, Any]:
    """Start a server module on a free port; return its URL and process."""
    port = pick_port(0)
    with log.open("ab") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", module],
            env={**env, "UNSTUCK_PORT": str(port)},
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{url}/readyz", timeout=2) as answer:
                if answer.status == 200:
                    return url, process
        except (urllib.error.URLError, OSError):
            time.sleep(0.2)
    process.kill()
    raise TimeoutError(f"{module} never became ready; see {log}")


@contextlib.contextmanager
def kafka(workdir: Path) -> Iterator[str]:
    """``KAFKA_BOOTSTRAP_SERVERS`` when set, else a broker of our own."""
    configured = os.environ.get("KAFKA_BOOTSTRAP_SERVERS")
    if configured:
        yield configured
        return
    with LocalKafka(workdir / "kafka", port=0, controller_port=0) as broker:
        yield broker.bootstrap_servers


async def measure(
    urls: dict[str, str], key: str, options: argparse.Namespace
) -> list[Result]:
    """Warm up, then the single and batch runs against each server in turn."""
    results: list[Result] = []
    for kind, url in urls.items():
        run = uuid.uuid4().hex[:6]
        warm = [json.dumps(signal(n, "w" + run)).encode() for n in range(200)]
        await drive("warm-up", f"{url}/signals", warm, 1, options.concurrency, key)

        singles = [
            json.dumps(signal(n, "s" + run)).encode() for n in range(options.singles)
        ]
        results.append(
            await drive(
                f"{kind} single",
                f"{url}/signals",
                singles,
                1,
                options.concurrency,
                key,
            )
        )

        size = options.batch_size
        batches = [
            json.dumps([signal(b * size + n, "b" + run) for n in range(size)]).encode()
            for b in range(options.batches)
        ]
        results.append(
            await drive(
                f"{kind} batch x{size}",
                f"{url}/signals/batch",
                batches,
                size,
                options.batch_concurrency,
                key,
            )
        )
    return results


def cpu_cost(batch_size: int, batches: int) -> None:
    """Print the best per-item microseconds of each step of the batch path."""
    config, _ = new_workspace("bench-cpu")
    raws = [
        json.dumps([signal(b * batch_size + n, "c") for n in range(batch_size)])
        for b in range(batches)
    ]
    best: list[float] | None = None
    for _ in range(5):
        totals = [0.0, 0.0, 0.0]
        for raw in raws:
            for step, seconds in enumerate(_cpu_batch(raw.encode(), config)):
                totals[step] += seconds
        if best is None or sum(totals) < sum(best):
            best = totals

    assert best is not None
    parse, validate, capture = (t / batches / batch_size * 1e6 for t in best)
    print(
        f"per item: parse {parse:.1f} us  validate {validate:.1f} us"
        f"  key+encode {capture:.1f} us  total {parse + validate + capture:.1f} us"
    )


def _cpu_batch(raw: bytes, config: dict[str, Any]) -> tuple[float, float, float]:
    """Seconds spent parsing, validating and capturing one batch as the gateway does."""
    started = time.perf_counter()
    items = parse_json(raw)
    parsed = time.perf_counter()

    now = datetime.now(UTC)
    checked = not may_hold_bad_text(raw)
    valid = [
        validate_signal(
            item,
            config,
            now=now,
            max_future=timedelta(days=1),
            max_depth=32,
            text_checked=checked,
        )
        for item in items
    ]
    validated = time.perf_counter()

    for one in valid:
        capture_signal(one, config["workspace_id"], now)
    return parsed - started, validated - parsed, time.perf_counter() - validated


def main() -> None:
    """Run both servers under the same load and print the figures and ratios."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--singles", type=int, default=5000)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--batches", type=int, default=100)
    parser.add_argument("--batch-size", type=int, default=1000)
    parser.add_argument("--batch-concurrency", type=int, default=4)
    parser.add_argument("--linger-ms", default="5")
    parser.add_argument("--cpu", action="store_true", help="per-item CPU cost only")
    options = parser.parse_args()
    if options.cpu:
        cpu_cost(options.batch_size, 8)
        return

    with tempfile.TemporaryDirectory(prefix="bench-") as tmp, kafka(Path(tmp)) as boot:
        prefix = f"bench{uuid.uuid4().hex[:8]}."
        ensure_topics(boot, prefix)
        config, key = new_workspace(f"bench-{uuid.uuid4().hex[:6]}")
        config["rate_limit_per_minute"] = 1_000_000_000
        config["rate_limit_per_day"] = 1_000_000_000_000
        publish_workspace(boot, prefix, config)

        env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
        env.update(
            {
                "KAFKA_BOOTSTRAP_SERVERS": boot,
                "UNSTUCK_TOPIC_PREFIX": prefix,
                # No processor runs: answer 202 as soon as the broker acknowledged.
                "UNSTUCK_REPLY_TIMEOUT_SECONDS": "0",
                "UNSTUCK_PRODUCER_LINGER_MS": options.linger_ms,
                # A log line per request is the operator's choice, not the path's cost.
                "UNSTUCK_LOG_LEVEL": "WARNING",
                "UNSTUCK_MAX_BODY_BYTES": str(16 * 1024 * 1024),
            }
        )
        servers = [
            serve("ingest_gateway", env, Path(tmp) / "gateway.log"),
            serve("benchmarks.bare", env, Path(tmp) / "bare.log"),
        ]
        try:
            urls = {"gateway": servers[0][0], "bare": servers[1][0]}
            results = asyncio.run(measure(urls, key, options))
        finally:
            for _, process in servers:
                process.terminate()
                process.wait(30)

    report(results)


def report(results: list[Result]) -> None:
    """Print each run and the gateway/bare ratio of throughput and p50 latency."""
    for result in results:
        print(result.line())
    by_name = {r.name: r for r in results}
    runs = [r.name.removeprefix("gateway ") for r in results if r.name[0] == "g"]
    for run in runs:
        gateway, bare = by_name[f"gateway {run}"], by_name[f"bare {run}"]
        print(
            f"ratio gateway/bare {run:<12} throughput {gateway.rate / bare.rate:.2f}"
            f"  p50 latency {gateway.percentile(0.5) / bare.percentile(0.5):.2f}"
        )


if __name__ == "__main__":
    main()
