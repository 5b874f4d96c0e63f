"""Decoded messages as JSON documents, for ``tail`` and ``dlq show``."""

from __future__ import annotations

import base64
from datetime import datetime
from typing import Any

from schemas import codec
from schemas.topics import Topic


def jsonable(value: Any) -> Any:
    """Bytes as base64 and instants as ISO 8601, so any decoded value prints."""
    if isinstance(value, bytes):
        return base64.b64encode(value).decode("ascii")
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: jsonable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [jsonable(v) for v in value]
    return value


def decode_value(topic: Topic, data: bytes | None) -> dict[str, Any] | None:
    """The value decoded with its topic's schema; None for a tombstone."""
    if data is None or topic.schema is None:
        return None
    return codec.decode(topic.schema, data)


def describe(
    topic: Topic,
    where: tuple[str, int, int],
    key: bytes | None,
    data: bytes | None,
    timestamp_ms: int | None = None,
) -> dict[str, Any]:
    """One message as printed: where it sits, its key, and its decoded value.

    A value that does not decode is shown as base64 with the error, because an
    operator tailing a topic wants to see the poison message, not a crash.
    """
    name, partition, offset = where
    document: dict[str, Any] = {
        "topic": name,
        "partition": partition,
        "offset": offset,
        "key": key.decode("utf-8", "replace") if key is not None else None,
    }
    if timestamp_ms is not None:
        document["timestamp_ms"] = timestamp_ms

    try:
        document["value"] = jsonable(decode_value(topic, data))
    except codec.CodecError as error:
        document["value"] = None
        document["raw"] = jsonable(data)
        document["error"] = str(error)
    return document
