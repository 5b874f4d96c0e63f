"""Workspace configuration: the record, API keys, and its materialized directory.

The compacted ``workspace.config`` topic is the only place a workspace lives; the CLI
and the admin API write whole records to it and every component reads it through
``WorkspaceDirectory``.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import threading
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from confluent_kafka import KafkaException, Producer

from schemas import codec
from schemas.compacted import CompactedView
from schemas.signal_types import BUILTIN_SIGNAL_TYPES
from schemas.topics import WORKSPACE_CONFIG

API_KEY_PREFIX = "usk_"
WEBHOOK_SECRET_PREFIX = "whsec_"  # noqa: S105 -- a prefix, not a secret


class WorkspaceError(RuntimeError):
    """Workspace configuration could not be written."""


def hash_api_key(api_key: str) -> str:
    """SHA-256 of a key: keys are random and long, so a fast hash is enough."""
    return hashlib.sha256(api_key.encode("utf-8")).hexdigest()


def new_api_key() -> str:
    return API_KEY_PREFIX + secrets.token_urlsafe(32)


def new_webhook_secret() -> str:
    """A Standard Webhooks secret: whsec_ and base64 of 32 random bytes."""
    import base64

    return WEBHOOK_SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


def new_workspace(
    name: str, workspace_id: str | None = None
) -> tuple[dict[str, Any], str]:
    """A fresh workspace record and its first API key, returned once in clear."""
    api_key = new_api_key()
    config: dict[str, Any] = {
        "workspace_id": workspace_id or str(uuid.uuid4()),
        "name": name,
        "api_key_hashes": [hash_api_key(api_key)],
        "custom_signal_types": [],
        "disabled_signal_types": [],
        "qualification_rules_json": None,
        "webhook": None,
        "rate_limit_per_minute": 500,
        "rate_limit_per_day": 50_000,
        "updated_at": datetime.now(UTC),
    }
    return config, api_key


@dataclass(frozen=True)
class TypeSettings:
    """How one signal type behaves in one workspace."""

    enabled: bool
    autoqualify: bool
    sub_rules: list[Any]


def type_settings(config: dict[str, Any], signal_type: str) -> TypeSettings | None:
    """The settings of a type in a workspace, or None when the type is unknown."""
    for custom in config.get("custom_signal_types", []):
        if custom["key"] == signal_type:
            return TypeSettings(
                enabled=bool(custom.get("enabled", True)),
                autoqualify=bool(custom["autoqualify"]),
                sub_rules=json.loads(custom.get("sub_rules_json") or "[]"),
            )

    builtin = BUILTIN_SIGNAL_TYPES.get(signal_type)
    if builtin is None:
        return None
    enabled = signal_type not in config.get("disabled_signal_types", [])
    return TypeSettings(enabled=enabled, autoqualify=builtin.autoqualify, sub_rules=[])


def publish_workspace(
    bootstrap_servers: str, topic_prefix: str, config: dict[str, Any]
) -> None:
    """Write a whole workspace record and wait until the broker has it."""
    producer = Producer(
        {
            "bootstrap.servers": bootstrap_servers,
            "enable.idempotence": True,
            "acks": "all",
        }
    )
    failures: list[str] = []

    def on_delivery(error: Any, _message: Any) -> None:
        if error is not None:
            failures.append(str(error))

    config = {**config, "updated_at": datetime.now(UTC)}
    try:
        producer.produce(
            WORKSPACE_CONFIG.name(topic_prefix),
            key=config["workspace_id"].encode(),
            value=codec.encode("workspace_config", config),
            on_delivery=on_delivery,
        )
    except KafkaException as error:
        raise WorkspaceError(f"cannot write workspace config: {error}") from error

    remaining = producer.flush(30)
    if remaining or failures:
        raise WorkspaceError(
            f"workspace config not acknowledged: {failures or remaining}"
        )


class WorkspaceDirectory(CompactedView):
    """Every workspace of the topic, with an index from API key hash to workspace."""

    def __init__(self, bootstrap_servers: str, topic_prefix: str = "") -> None:
        self._by_key_hash: dict[str, str] = {}
        self._index_lock = threading.Lock()
        super().__init__(
            bootstrap_servers,
            WORKSPACE_CONFIG.name(topic_prefix),
            "workspace_config",
            on_change=self._reindex,
        )

    def by_api_key(self, api_key: str) -> dict[str, Any] | None:
        """The workspace a key belongs to, compared in constant time."""
        key_hash = hash_api_key(api_key)
        with self._index_lock:
            workspace_id = self._by_key_hash.get(key_hash)
        if workspace_id is None:
            return None

        config = self.get(workspace_id)
        if config is None:
            return None
        matches = [hmac.compare_digest(key_hash, h) for h in config["api_key_hashes"]]
        return config if any(matches) else None

    def by_name(self, name: str) -> dict[str, Any] | None:
        return next((c for c in self.values() if c["name"] == name), None)

    def _reindex(self, workspace_id: str, config: dict[str, Any] | None) -> None:
        hashes: Iterable[str] = config["api_key_hashes"] if config else ()
        with self._index_lock:
            stale = [h for h, w in self._by_key_hash.items() if w == workspace_id]
            for key_hash in stale:
                del self._by_key_hash[key_hash]
            for key_hash in hashes:
                self._by_key_hash[key_hash] = workspace_id
