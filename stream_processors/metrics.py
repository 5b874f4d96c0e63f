"""Prometheus metrics of the processor."""

from __future__ import annotations

from prometheus_client import Counter

PROCESSED = Counter(
    "unstuck_processor_signals_total", "Raw signals handled", ["outcome"]
)
DEAD_LETTERS = Counter(
    "unstuck_processor_dead_letters_total", "Raw messages dead-lettered", ["reason"]
)
