"""The processor's settings, read from the environment once at start."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

DAY_SECONDS = 24 * 60 * 60


class ProcessorSettings(BaseSettings):
    """Every knob of the Faust worker; each says why it exists."""

    model_config = SettingsConfigDict(env_prefix="UNSTUCK_", extra="ignore")

    kafka_bootstrap_servers: str = Field(
        "127.0.0.1:9092", validation_alias="KAFKA_BOOTSTRAP_SERVERS"
    )
    topic_prefix: str = ""
    # Copies of each changelog topic the worker creates; one suits a single
    # broker, a production cluster wants three (as ``unstuck init`` does).
    topic_replication_factor: int = Field(1, ge=1)
    # The consumer group and the prefix of the changelog topics; workers with the
    # same id share the raw topic's partitions.
    processor_id: str = "unstuck-processor"
    # How often Faust commits offsets; a crash replays at most this much, which the
    # dedupe table and the idempotent sinks absorb.
    commit_interval_seconds: float = 2.0
    # How long the broker waits for a silent worker before giving its partitions
    # to the others: a SIGKILLed worker stalls its partitions this long.
    session_timeout_seconds: float = 30.0
    # at_least_once with idempotent outputs was measured against exactly_once
    # (Kafka transactions); see the app module for the figures and the choice.
    processing_guarantee: Literal["at_least_once", "exactly_once"] = "at_least_once"
    # How long Faust's producer waits to fill a batch. Without it every send is
    # its own request and a worker managed half the throughput (measured with
    # benchmarks.processor); 10 ms is invisible next to a reply's budget.
    producer_linger_seconds: float = 0.01
    # Where a worker keeps its table state; memory is rebuilt from the changelog.
    store_url: str = "memory://"
    # Where Faust writes its local files, one directory per app (``{conf.name}``
    # is Faust's own placeholder); outside the source tree by default.
    data_dir: str = "/tmp/unstuck-processor/{conf.name}"  # noqa: S108 -- scratch
    # Faust's web server is not used: metrics come from Prometheus on this port.
    metrics_port: int = 0
    # Every interface by default, so a scraper in the cluster can reach it.
    metrics_host: str = "0.0.0.0"
    # How long a dedupe key is remembered: a repeat within the window is answered
    # with the first capture; past it the records sink's primary key still refuses
    # a second row, since the capture id derives from the key.
    dedupe_retention_seconds: float = 30 * DAY_SECONDS
    # Per-workspace windows (workspace id to seconds), as JSON in the environment.
    # The workspace record has no field for it yet; this is where it lives until
    # the workspace_config schema grows one.
    dedupe_retention_by_workspace: dict[str, float] = Field(default_factory=dict)
    # How often expired keys are swept out of the table (and tombstoned in its
    # changelog); state grows at most by one interval's worth of keys.
    dedupe_sweep_interval_seconds: float = 300.0
    # How often per-partition lag is measured for the metrics.
    lag_interval_seconds: float = 5.0
    # How far in the future a plain JSON signal's occurred_at may be, as at the
    # gateway, so a body is accepted or refused the same way on both paths.
    max_future_seconds: float = DAY_SECONDS

    def app_data_dir(self, app_name: str) -> Path:
        """The app's data directory, created with its parents.

        Faust creates only the last component of its data directory, so on a fresh
        machine a default under a missing parent stopped the worker at start.
        """
        path = Path(self.data_dir.replace("{conf.name}", app_name))
        path.mkdir(parents=True, exist_ok=True)
        return path
