"""Prometheus metrics of the gateway, served on ``/metrics``."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

ACCEPTED = Counter(
    "unstuck_gateway_signals_accepted_total", "Signals acknowledged by the broker"
)
DUPLICATES = Counter("unstuck_gateway_signals_duplicate_total", "Replays answered")
REJECTED = Counter(
    "unstuck_gateway_signals_rejected_total",
    "Requests refused, by error code",
    ["code"],
)
LATENCY = Histogram(
    "unstuck_gateway_request_seconds",
    "Request latency",
    ["route"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10),
)
PRODUCER_QUEUE = Gauge(
    "unstuck_gateway_producer_queue", "Messages waiting in the producer queue"
)
RATE_LIMITED = Counter(
    "unstuck_gateway_events_rate_limited_total",
    "Events refused because the workspace's budget was spent",
)
# Writes the broker never acknowledged, by what was written: "signal" answers were
# 503s, "ratelimit" messages only delay a claim.
DELIVERY_FAILURES = Counter(
    "unstuck_gateway_delivery_failures_total",
    "Writes Kafka did not acknowledge",
    ["topic"],
)
# Produce calls that found librdkafka's queue full: the first sign of a broker
# that cannot keep up, before any request fails.
QUEUE_FULL = Counter(
    "unstuck_gateway_producer_queue_full_total", "Produce calls that met a full queue"
)
