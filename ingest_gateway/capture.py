"""Turning a valid signal into the raw-topic message and the answer to the caller."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ingest_gateway.validation import ValidSignal
from schemas import codec, keys


@dataclass(frozen=True)
class Capture:
    """What the gateway knows of a signal once keyed: ids, key and encoded bytes."""

    capture_id: str
    lead_id: str
    dedupe_key: str
    value: bytes


def capture_signal(
    signal: ValidSignal, workspace_id: str, received_at: datetime
) -> Capture:
    """Key a valid signal and encode it for signals.raw."""
    if signal.idempotency_key is not None:
        dedupe_key = keys.idempotency_dedupe_key(workspace_id, signal.idempotency_key)
    else:
        dedupe_key = keys.dedupe_key(
            workspace_id,
            signal.signal_type,
            signal.source,
            signal.canonical,
            signal.occurred_at,
        )
    capture_id = keys.capture_id(dedupe_key)
    lead_id, _kind = keys.lead_id(workspace_id, signal.canonical)

    value = codec.encode(
        "signal_raw",
        {
            "capture_id": capture_id,
            "workspace_id": workspace_id,
            "dedupe_key": dedupe_key,
            "body_sha256": keys.body_fingerprint(signal.body),
            "received_at": received_at,
            "signal_type": signal.signal_type,
            "source": signal.source,
            "event_name": signal.event_name,
            "occurred_at": signal.occurred_at,
            "identity": signal.identity,
            "context_json": signal.context_json,
            "idempotency_key": signal.idempotency_key,
        },
    )
    return Capture(capture_id, lead_id, dedupe_key, value)


def answer(capture: Capture, reply: dict[str, Any] | None) -> dict[str, Any]:
    """The response body: the reply's result when it came, else the ids alone."""
    if reply is None:
        return {
            "signal_capture_id": capture.capture_id,
            "matched_record_id": capture.lead_id,
            "qualification": None,
            "status": "accepted",
            "duplicate": False,
        }

    qualification = reply.get("qualification")
    return {
        "signal_capture_id": reply["capture_id"],
        "matched_record_id": reply.get("matched_record_id") or capture.lead_id,
        "qualification": _public_qualification(qualification),
        "status": reply["status"],
        "duplicate": reply["status"] == "duplicate",
    }


def _public_qualification(value: dict[str, Any] | None) -> dict[str, Any] | None:
    if value is None:
        return None
    return {
        "icp_code": value["icp_code"],
        "icp_score": value["icp_score"],
        "persona_code": value["persona_code"],
        "persona_score": value["persona_score"],
        "reasons": list(value.get("reasons", [])),
        "rules_version": value["rules_version"],
    }


def dumps(document: Any) -> str:
    """Strict JSON out: a NaN can never leave the gateway."""
    return json.dumps(document, ensure_ascii=False, allow_nan=False)
