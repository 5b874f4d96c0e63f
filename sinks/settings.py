"""One typed settings object for both sink workers, read from the environment."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class SinkSettings(BaseSettings):
    """Where the sinks read from and write to, and how hard they push."""

    model_config = SettingsConfigDict(populate_by_name=True, extra="ignore")

    kafka_bootstrap_servers: str = Field(
        default="127.0.0.1:9092", validation_alias="KAFKA_BOOTSTRAP_SERVERS"
    )
    database_url: str = Field(
        default="postgresql://127.0.0.1:5432/unstuck", validation_alias="DATABASE_URL"
    )
    topic_prefix: str = Field(default="", validation_alias="UNSTUCK_TOPIC_PREFIX")

    records_group: str = Field(
        default="unstuck-sink-records", validation_alias="UNSTUCK_RECORDS_SINK_GROUP"
    )
    webhooks_group: str = Field(
        default="unstuck-sink-webhooks", validation_alias="UNSTUCK_WEBHOOKS_SINK_GROUP"
    )

    # A bigger batch means fewer transactions; the wait bounds how stale the
    # database may be behind the topic when traffic is light.
    batch_max_size: int = Field(
        default=500, validation_alias="UNSTUCK_SINK_BATCH_MAX_SIZE", ge=1
    )
    batch_max_wait_ms: int = Field(
        default=500, validation_alias="UNSTUCK_SINK_BATCH_MAX_WAIT_MS", ge=1
    )

    # PostgreSQL outages are waited out, never skipped: the cap keeps a long
    # outage from turning into a long recovery delay.
    db_retry_base_s: float = Field(
        default=0.5, validation_alias="UNSTUCK_SINK_DB_RETRY_BASE_S", gt=0
    )
    db_retry_cap_s: float = Field(
        default=30.0, validation_alias="UNSTUCK_SINK_DB_RETRY_CAP_S", gt=0
    )

    # Receivers on loopback or private networks are refused by default because a
    # workspace admin could otherwise aim deliveries at our own infrastructure.
    webhook_allow_loopback: bool = Field(
        default=False, validation_alias="UNSTUCK_WEBHOOK_ALLOW_LOOPBACK"
    )
    webhook_allow_private: bool = Field(
        default=False, validation_alias="UNSTUCK_WEBHOOK_ALLOW_PRIVATE"
    )
    # With these defaults the ceilings sum to about 7 hours (full jitter waits
    # half of that on average), so a receiver down for hours still gets its
    # deliveries; waits happen on the retry topic, never on a partition.
    webhook_max_attempts: int = Field(
        default=16, validation_alias="UNSTUCK_WEBHOOK_MAX_ATTEMPTS", ge=1
    )
    webhook_backoff_base_s: float = Field(
        default=10.0, validation_alias="UNSTUCK_WEBHOOK_BACKOFF_BASE_S", ge=0
    )
    webhook_backoff_cap_s: float = Field(
        default=3600.0, validation_alias="UNSTUCK_WEBHOOK_BACKOFF_CAP_S", ge=0
    )
    # An endpoint that has failed every attempt for this long is disabled; its
    # deliveries go to the dead-letter topic until the workspace re-enables it.
    webhook_disable_after_s: float = Field(
        default=3 * 24 * 3600.0,
        validation_alias="UNSTUCK_WEBHOOK_DISABLE_AFTER_S",
        gt=0,
    )
    # Retries waiting for their time are held in memory up to this many; past it
    # the retry consumer pauses (first attempts are not affected).
    webhook_retry_max_in_flight: int = Field(
        default=20000, validation_alias="UNSTUCK_WEBHOOK_RETRY_MAX_IN_FLIGHT", ge=1
    )
    # A receiver's Retry-After is honoured up to this bound, so a hostile or
    # broken receiver cannot park a delivery for days.
    webhook_retry_after_cap_s: float = Field(
        default=600.0, validation_alias="UNSTUCK_WEBHOOK_RETRY_AFTER_CAP_S", ge=0
    )
    webhook_timeout_s: float = Field(
        default=10.0, validation_alias="UNSTUCK_WEBHOOK_TIMEOUT_S", gt=0
    )
    webhook_concurrency_per_endpoint: int = Field(
        default=4, validation_alias="UNSTUCK_WEBHOOK_CONCURRENCY_PER_ENDPOINT", ge=1
    )
    # Past this many undelivered messages the consumer pauses its partitions, so
    # a dead receiver cannot make the worker hold the whole topic in memory.
    webhook_max_in_flight: int = Field(
        default=1000, validation_alias="UNSTUCK_WEBHOOK_MAX_IN_FLIGHT", ge=1
    )
    # On SIGTERM, deliveries still retrying get this long before they are
    # abandoned; their offsets stay uncommitted, so another member resends them.
    shutdown_grace_s: float = Field(
        default=20.0, validation_alias="UNSTUCK_SINK_SHUTDOWN_GRACE_S", ge=0
    )
