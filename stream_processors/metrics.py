"""Prometheus metrics of the processor, served on ``UNSTUCK_METRICS_PORT``."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, start_http_server

PROCESSED = Counter(
    "unstuck_processor_signals_total", "Raw signals handled", ["outcome"]
)
DEAD_LETTERS = Counter(
    "unstuck_processor_dead_letters_total", "Raw messages dead-lettered", ["reason"]
)
DEDUPE_KEYS = Gauge(
    "unstuck_processor_dedupe_keys",
    "Keys in this worker's dedupe table, standby copies included",
)
DEDUPE_EXPIRED = Counter(
    "unstuck_processor_dedupe_expired_total", "Dedupe keys swept past their window"
)
PLAIN_REKEYED = Counter(
    "unstuck_processor_plain_signals_total",
    "Plain JSON signals found on the raw topic and re-keyed as Avro",
)

OFFSET_GAPS = Counter(
    "unstuck_processor_offset_gaps_total",
    "Raw-topic offsets Faust skipped; the worker exits to replay them",
)


def serve(port: int, host: str) -> None:
    """Serve /metrics in a daemon thread; port 0 turns it off."""
    if port:
        start_http_server(port, addr=host)
