"""Hold a steady rate on a private pipeline for a set time and report what held.

    python -m benchmarks.soak --rate 200 --seconds 600

Starts its own Kafka broker, PostgreSQL server and the pipeline's processes (the
fault suite's stack), sends distinct signals at ``--rate`` for ``--seconds``, waits
for the sinks to drain, and prints accepted, captured, lost, duplicated, the p50
and p99 of the HTTP answer latency, and the lag from answer to stored row.
Traffic goes to loopback only and the run stops by itself.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

import psycopg

from tests.faults.audit import tally, wait_complete
from tests.faults.conftest import Stack, _build_stack, make_tenant


def _percentile(values: list[float], fraction: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def _store_lag_ms(database_url: str, workspace_id: str) -> list[float]:
    """Per capture, stored_at minus received_at: the pipeline's own lag."""
    with psycopg.connect(database_url) as connection:
        rows = connection.execute(
            "SELECT extract(epoch FROM stored_at - received_at) * 1000"
            " FROM signal_captures WHERE workspace_id = %s",
            (workspace_id,),
        ).fetchall()
    return [float(r[0]) for r in rows]


def main() -> None:
    """Run the soak and print one JSON document of figures."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rate", type=float, default=200.0)
    parser.add_argument("--seconds", type=float, default=300.0)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="unstuck-soak-") as scratch:
        stack = _build_stack(Path(scratch))
        try:
            figures = _soak(stack, args.rate, args.seconds)
        finally:
            stack.pipeline.stop_all()
            stack.receiver.stop()
            stack.postgres.stop()
            stack.kafka.stop()
    print(json.dumps(figures, indent=2))


def _soak(stack: Stack, rate: float, seconds: float) -> dict[str, object]:
    tenant = make_tenant(stack)
    driver = tenant.driver(total=int(rate * seconds), rate=rate)
    started = time.monotonic()
    driver.start()
    driver.wait(timeout=seconds * 3 + 120)
    sent_for = time.monotonic() - started

    pipeline = tenant.stack.pipeline
    accepted = len(driver.accepted())
    wait_complete(
        pipeline.database_url,
        tenant.workspace_id,
        tenant.stack.receiver,
        tenant.tag,
        accepted + 1,
        timeout=600,
    )
    result = tally(
        "soak",
        driver,
        bootstrap=pipeline.kafka_bootstrap,
        prefix=pipeline.prefix,
        database_url=pipeline.database_url,
        workspace_id=tenant.workspace_id,
        receiver=tenant.stack.receiver,
    )
    answer_ms = [
        (o.answered - o.first_sent) * 1000
        for o in driver.outcomes.values()
        if o.capture_id
    ]
    lag_ms = _store_lag_ms(pipeline.database_url, tenant.workspace_id)
    return {
        "rate_per_s": rate,
        "seconds": round(sent_for, 1),
        "sent": result.sent,
        "accepted": result.accepted,
        "captured": result.captured,
        "lost": result.lost,
        "duplicated": result.duplicated,
        "topic_repeats": result.topic_repeats,
        "webhooks_after_dedupe": result.webhooks,
        "http_p50_ms": round(_percentile(answer_ms, 0.50), 1),
        "http_p99_ms": round(_percentile(answer_ms, 0.99), 1),
        "store_lag_p50_ms": round(_percentile(lag_ms, 0.50), 1),
        "store_lag_p99_ms": round(_percentile(lag_ms, 0.99), 1),
        "store_lag_mean_ms": round(statistics.fmean(lag_ms), 1) if lag_ms else None,
        "statuses": driver.statuses,
    }


if __name__ == "__main__":
    main()
