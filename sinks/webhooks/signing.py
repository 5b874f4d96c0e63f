"""Standard Webhooks signatures over the exact bytes a delivery sends."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from math import floor

from standardwebhooks import Webhook

CONTENT_TYPE = "application/json; charset=utf-8"


def signed_headers(
    webhook_id: str,
    body: bytes,
    secrets: Sequence[str],
    now: datetime | None = None,
) -> dict[str, str]:
    """The headers of one attempt: every secret signs, so rotations overlap.

    The timestamp is taken per attempt because receivers refuse signatures older
    than a few minutes, and retries can come much later than the first try.
    """
    if not secrets:
        raise ValueError("a webhook endpoint needs at least one secret")

    timestamp = now or datetime.now(UTC)
    signatures = [Webhook(s).sign(webhook_id, timestamp, body) for s in secrets]
    return {
        "webhook-id": webhook_id,
        "webhook-timestamp": str(floor(timestamp.timestamp())),
        "webhook-signature": " ".join(signatures),
        "Content-Type": CONTENT_TYPE,
    }
