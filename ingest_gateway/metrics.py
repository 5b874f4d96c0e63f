"""Prometheus metrics of the gateway."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

ACCEPTED = Counter("unstuck_gateway_signals_accepted_total", "Signals acknowledged")
DUPLICATES = Counter("unstuck_gateway_signals_duplicate_total", "Replays answered")
REJECTED = Counter(
    "unstuck_gateway_signals_rejected_total", "Signals refused", ["code"]
)
LATENCY = Histogram(
    "unstuck_gateway_request_seconds",
    "Request latency",
    ["route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 3, 5, 10),
)
PRODUCER_QUEUE = Gauge(
    "unstuck_gateway_producer_queue", "Messages waiting in the producer queue"
)
