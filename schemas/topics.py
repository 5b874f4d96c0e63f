"""The topic catalog: every topic the pipeline writes, with its shape.

A prefix lets several pipelines (or several test runs) share one cluster without
seeing each other's messages.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final


@dataclass(frozen=True)
class Topic:
    """One topic of the contract and how it is created."""

    base_name: str
    partitions: int
    compacted: bool = False
    retention_ms: int | None = None
    schema: str | None = None

    def name(self, prefix: str = "") -> str:
        return f"{prefix}{self.base_name}"

    def config(self) -> dict[str, str]:
        settings = {"cleanup.policy": "compact" if self.compacted else "delete"}
        if self.retention_ms is not None:
            settings["retention.ms"] = str(self.retention_ms)
        return settings


DAY_MS: Final = 24 * 60 * 60 * 1000

SIGNALS_RAW: Final = Topic(
    "signals.raw", 6, retention_ms=7 * DAY_MS, schema="signal_raw"
)
SIGNALS_REPLIES: Final = Topic(
    "signals.replies", 3, retention_ms=DAY_MS // 24, schema="reply"
)
SIGNALS_DLQ: Final = Topic(
    "signals.dlq", 1, retention_ms=30 * DAY_MS, schema="dead_letter"
)
RECORDS: Final = Topic("records", 6, retention_ms=7 * DAY_MS, schema="record")
WEBHOOKS: Final = Topic("webhooks", 6, retention_ms=7 * DAY_MS, schema="webhook")
# Deliveries waiting for their next attempt; headers carry the attempt number and
# the not-before time. Retention outlasts the longest backoff by days.
WEBHOOKS_RETRY: Final = Topic(
    "webhooks.retry", 6, retention_ms=7 * DAY_MS, schema="webhook"
)
WEBHOOKS_DLQ: Final = Topic(
    "webhooks.dlq", 1, retention_ms=30 * DAY_MS, schema="dead_letter"
)
RECORDS_DLQ: Final = Topic(
    "records.dlq", 1, retention_ms=30 * DAY_MS, schema="dead_letter"
)
WORKSPACE_CONFIG: Final = Topic(
    "workspace.config", 1, compacted=True, schema="workspace_config"
)
COMPANIES: Final = Topic("companies", 1, compacted=True, schema="company")
# The gateway replicas' shared rate-limit ledger (ingest_gateway.usage_bus): JSON
# claims read back only from the start of the current day, hence two days' keep.
RATELIMIT_USAGE: Final = Topic("ratelimit.usage", 3, retention_ms=2 * DAY_MS)
AUDIENCE_DEFINITIONS: Final = Topic(
    "audience.definitions", 1, compacted=True, schema="audience_definition"
)
AUDIENCE_MEMBERSHIP: Final = Topic(
    "audience.membership", 6, retention_ms=30 * DAY_MS, schema="audience_membership"
)
# The audience agent's repartition of records (and its timer ticks and backfill
# seeds) by lead id: JSON, internal. Producers must use the murmur2 partitioner
# Faust uses, so one lead always lands on one partition.
AUDIENCE_LEADS: Final = Topic("audience.leads", 6, retention_ms=7 * DAY_MS)

CATALOG: Final = (
    SIGNALS_RAW,
    SIGNALS_REPLIES,
    SIGNALS_DLQ,
    RECORDS,
    RECORDS_DLQ,
    WEBHOOKS,
    WEBHOOKS_RETRY,
    WEBHOOKS_DLQ,
    WORKSPACE_CONFIG,
    COMPANIES,
    AUDIENCE_DEFINITIONS,
    AUDIENCE_MEMBERSHIP,
    AUDIENCE_LEADS,
    RATELIMIT_USAGE,
)
