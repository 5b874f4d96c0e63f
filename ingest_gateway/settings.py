"""The gateway's settings, read from the environment once at start."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class GatewaySettings(BaseSettings):
    """Every knob of the gateway; each says why it exists."""

    model_config = SettingsConfigDict(env_prefix="UNSTUCK_", extra="ignore")

    kafka_bootstrap_servers: str = Field(
        "127.0.0.1:9092", validation_alias="KAFKA_BOOTSTRAP_SERVERS"
    )
    database_url: str | None = Field(None, validation_alias="DATABASE_URL")
    topic_prefix: str = ""
    host: str = "127.0.0.1"
    port: int = 8080

    # How long a request waits for the processor's result before answering 202.
    reply_timeout_seconds: float = 2.0
    # A request with an idempotency_key waits longer: only the processor's reply
    # can tell a replay (200) from a reused key with another body (409), and an
    # answer without it is a 202 "pending" the caller must resend to resolve.
    idempotency_reply_timeout_seconds: float = 10.0
    # Operator token of the /admin routes; unset (the default) turns them off.
    admin_token: str | None = None
    # Bodies are refused past this size before they are read whole (413).
    max_body_bytes: int = 1024 * 1024
    max_batch_items: int = 1000
    # Nested context deeper than this is refused: it costs memory and no audience
    # condition reaches that far.
    max_context_depth: int = 32
    # Clock skew allowed for occurred_at in the future, in seconds (field case B14).
    max_future_skew_seconds: float = 24 * 60 * 60
    # How long the producer may try to deliver before the request gets a 503.
    delivery_timeout_ms: int = 10_000
    # SIGTERM: seconds to finish in-flight requests before closing.
    shutdown_grace_seconds: float = 10.0
    # Producer batching delay: higher batches better under load, but each single
    # signal waits up to this long for its acknowledgement (field case B06 uses 2000).
    producer_linger_ms: int = 5
    # Messages librdkafka may queue while the broker is slow or away; past it a
    # request gets 503 at once instead of piling up memory (field case B05).
    producer_queue_max_messages: int = 100_000
    # How long a request may wait for the shared rate-limit ledger before a 503;
    # a claim is one Kafka round trip, so this only trips when Kafka is away.
    ratelimit_claim_timeout_seconds: float = 5.0
