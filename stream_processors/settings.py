"""The processor's settings, read from the environment once at start."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class ProcessorSettings(BaseSettings):
    """Every knob of the Faust worker; each says why it exists."""

    model_config = SettingsConfigDict(env_prefix="UNSTUCK_", extra="ignore")

    kafka_bootstrap_servers: str = Field(
        "127.0.0.1:9092", validation_alias="KAFKA_BOOTSTRAP_SERVERS"
    )
    topic_prefix: str = ""
    # The consumer group and the prefix of the changelog topics; workers with the
    # same id share the raw topic's partitions.
    processor_id: str = "unstuck-processor"
    # How often Faust commits offsets; a crash replays at most this much, which the
    # dedupe table and the idempotent sinks absorb.
    commit_interval_seconds: float = 2.0
    # Where a worker keeps its table state; memory is rebuilt from the changelog.
    store_url: str = "memory://"
    # Faust's web server is not used: metrics come from Prometheus on this port.
    metrics_port: int = 0
