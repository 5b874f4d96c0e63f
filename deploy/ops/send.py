"""``unstuck send``: a feed file through ``POST /signals/batch``, with a summary.

Batches are sent one after another: the gateway already produces a batch's
signals concurrently, and one request in flight keeps the order of retries simple
(a 429 or 503 is retried after its ``Retry-After`` before the next batch leaves).
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from deploy.ops.feed import FeedRow

RETRYABLE = (429, 503)
MAX_REJECTIONS_LISTED = 1000
REQUEST_TIMEOUT_S = 60.0


@dataclass
class SendSummary:
    """What happened to every row of the file."""

    rows: int = 0
    accepted: int = 0
    duplicate: int = 0
    rejected: int = 0
    retries: int = 0
    reasons: Counter[str] = field(default_factory=Counter)
    rejections: list[dict[str, Any]] = field(default_factory=list)
    elapsed_s: float = 0.0

    def reject(self, row: int, reason: str, detail: Any = None) -> None:
        self.rejected += 1
        self.reasons[reason] += 1
        if len(self.rejections) < MAX_REJECTIONS_LISTED:
            self.rejections.append({"row": row, "reason": reason, "detail": detail})

    def as_json(self) -> dict[str, Any]:
        return {
            "rows": self.rows,
            "accepted": self.accepted,
            "duplicate": self.duplicate,
            "rejected": self.rejected,
            "retries": self.retries,
            "reasons": dict(self.reasons),
            "rejections": self.rejections,
            "rejections_listed": len(self.rejections),
            "elapsed_s": round(self.elapsed_s, 3),
        }


@dataclass(frozen=True)
class SendOptions:
    """Where and how fast to send."""

    url: str
    api_key: str
    batch_size: int = 500
    rate: float | None = None
    max_retries: int = 20
    max_retry_wait_s: float = 120.0


class Sender:
    """Sends batches in order and folds each answer into the summary."""

    def __init__(
        self,
        options: SendOptions,
        on_progress: Callable[[int], None] = lambda _rows: None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.options = options
        self.summary = SendSummary()
        self._on_progress = on_progress
        self._sleep = sleep
        self._seen_captures: set[str] = set()
        self._sent = 0

    def send_all(self, rows: list[FeedRow]) -> SendSummary:
        """Send every row; local parse errors are rejected without a request."""
        started = time.monotonic()
        self.summary.rows = len(rows)
        batch: list[FeedRow] = []
        for row in rows:
            if row.body is None:
                reason, _, detail = (row.error or "invalid").partition(": ")
                self.summary.reject(row.row, reason, detail)
                self._on_progress(1)
                continue
            batch.append(row)
            if len(batch) >= self.options.batch_size:
                self._send_paced(batch, started)
                batch = []

        if batch:
            self._send_paced(batch, started)
        self.summary.elapsed_s = time.monotonic() - started
        return self.summary

    def _send_paced(self, batch: list[FeedRow], started: float) -> None:
        """Hold the batch back until the average rate stays under ``--rate``."""
        rate = self.options.rate
        if rate:
            wait = started + self._sent / rate - time.monotonic()
            if wait > 0:
                self._sleep(wait)

        self._sent += len(batch)
        answer = self._post_with_retries(batch)
        if answer is not None:
            self._fold(batch, answer)
        self._on_progress(len(batch))

    def _post_with_retries(self, batch: list[FeedRow]) -> dict[str, Any] | None:
        """The gateway's answer, or None after rejecting the whole batch."""
        payload = json.dumps([row.body for row in batch]).encode("utf-8")
        attempt = 0
        while True:
            status, headers, document = self._post(payload)
            if status == 200 and isinstance(document, dict):
                return document
            if status in RETRYABLE and attempt < self.options.max_retries:
                attempt += 1
                self.summary.retries += 1
                self._sleep(self._retry_after(headers, attempt))
                continue
            if status == 401:
                raise SystemExit("the gateway refused the API key (401)")

            reason = _error_code(document) or f"http_{status}"
            for row in batch:
                self.summary.reject(row.row, reason, _error_message(document))
            return None

    def _post(self, payload: bytes) -> tuple[int, dict[str, str], Any]:
        request = urllib.request.Request(
            f"{self.options.url.rstrip('/')}/signals/batch",
            data=payload,
            method="POST",
            headers={
                "Authorization": f"Bearer {self.options.api_key}",
                "Content-Type": "application/json",
            },
        )
        try:
            with urllib.request.urlopen(request, timeout=REQUEST_TIMEOUT_S) as answer:
                return answer.status, dict(answer.headers), _json(answer.read())
        except urllib.error.HTTPError as error:
            return error.code, dict(error.headers), _json(error.read())
        except (urllib.error.URLError, TimeoutError, ConnectionError):
            # Unreachable counts as unavailable: the same bounded retries apply.
            return 503, {}, None

    def _retry_after(self, headers: dict[str, str], attempt: int) -> float:
        """The server's ``Retry-After`` seconds, else a doubling wait from 1 s."""
        named = {k.lower(): v for k, v in headers.items()}.get("retry-after", "")
        try:
            wait = float(named)
        except ValueError:
            wait = float(2 ** min(attempt - 1, 6))
        return min(max(wait, 0.0), self.options.max_retry_wait_s)

    def _fold(self, batch: list[FeedRow], answer: dict[str, Any]) -> None:
        """Count each item; a capture id seen before in this run is a duplicate.

        The batch endpoint answers before the processor deduplicates, so a repeat
        of an event sent by an earlier run is counted accepted here and dropped
        downstream; repeats within one file are told apart by their capture id,
        which is derived from the event's identity.
        """
        for result in answer.get("results", []):
            row = batch[int(result["index"])].row
            if result.get("status") != 202:
                error = result.get("error") or {}
                detail = {
                    "message": error.get("message"),
                    "fields": error.get("fields"),
                }
                self.summary.reject(row, str(error.get("code", "rejected")), detail)
                continue

            capture = str(result.get("signal_capture_id"))
            if capture in self._seen_captures or result.get("duplicate") is True:
                self.summary.duplicate += 1
            else:
                self.summary.accepted += 1
            self._seen_captures.add(capture)


def _json(raw: bytes) -> Any:
    try:
        return json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError):
        return None


def _error_code(document: Any) -> str | None:
    if isinstance(document, dict) and isinstance(document.get("error"), dict):
        return str(document["error"].get("code"))
    return None


def _error_message(document: Any) -> Any:
    if isinstance(document, dict) and isinstance(document.get("error"), dict):
        return document["error"].get("message")
    return None
