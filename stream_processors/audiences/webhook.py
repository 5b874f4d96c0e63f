"""The webhook announcement of a lead entering an audience, for opted-in audiences."""

from __future__ import annotations

import json
from typing import Any


def entered_webhook(change: dict[str, Any]) -> dict[str, Any]:
    """A ``webhooks`` message for an entered event; its id is the event's id."""
    payload = {
        "type": "audience.entered",
        "timestamp": change["changed_at"].isoformat(),
        "data": {
            "event_id": change["event_id"],
            "audience_id": change["audience_id"],
            "audience_name": change["audience_name"],
            "audience_version": change["audience_version"],
            "lead_id": change["lead_id"],
            "reason": change["reason"],
        },
    }
    return {
        "webhook_id": f"aud_{change['event_id']}",
        "workspace_id": change["workspace_id"],
        "capture_id": change["cause"],
        "event_type": "audience.entered",
        "created_at": change["changed_at"],
        "payload_json": json.dumps(payload, ensure_ascii=False),
    }
