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
REQUEST_TIMEOUT_S = 60.0
# Rows of the plain-text summary: enough to see a pattern, short enough to read;
# ``--json`` lists every one.
ROWS_LISTED = 20

# Why a batch waits, by the cause a summary counts waits under.
RATE_LIMITED = "rate_limited"
UNAVAILABLE = "unavailable"
UNREACHABLE = "unreachable"
_WAITED_FOR = {
    RATE_LIMITED: "for the workspace's rate limit (429)",
    UNAVAILABLE: "for an unavailable gateway (503)",
    UNREACHABLE: "for an unreachable gateway",
}


@dataclass(frozen=True)
class Wait:
    """A pause before a batch is sent again, so the progress can say why it stalls."""

    seconds: float
    cause: str
    reason: str
    attempt: int
    max_retries: int

    def describe(self) -> str:
        return f"{self.reason}, retrying in {self.seconds:.0f} s"


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
    waits: Counter[str] = field(default_factory=Counter)
    wait_s: dict[str, float] = field(default_factory=dict)
    elapsed_s: float = 0.0

    def reject(
        self,
        row: int,
        reason: str,
        message: str | None = None,
        fields: list[dict[str, str]] | None = None,
    ) -> None:
        """Keep every rejection: ``--json`` promises each rejected row by number."""
        self.rejected += 1
        self.reasons[reason] += 1
        self.rejections.append(
            {"row": row, "reason": reason, "message": message, "fields": fields or []}
        )

    def waited(self, wait: Wait) -> None:
        self.waits[wait.cause] += 1
        self.wait_s[wait.cause] = self.wait_s.get(wait.cause, 0.0) + wait.seconds

    def sorted_rejections(self) -> list[dict[str, Any]]:
        """In file order: local parse errors are found before earlier rows' answers."""
        return sorted(self.rejections, key=lambda rejection: int(rejection["row"]))

    def as_json(self) -> dict[str, Any]:
        rejections = self.sorted_rejections()
        return {
            "rows": self.rows,
            "accepted": self.accepted,
            "duplicate": self.duplicate,
            "rejected": self.rejected,
            "retries": self.retries,
            "waits": {
                cause: {"count": count, "seconds": round(self.wait_s[cause], 3)}
                for cause, count in self.waits.items()
            },
            "reasons": dict(self.reasons),
            "rejections": rejections,
            "rejections_listed": len(rejections),
            "elapsed_s": round(self.elapsed_s, 3),
        }


def summary_lines(summary: SendSummary, listed: int = ROWS_LISTED) -> list[str]:
    """The plain-text summary: counts, waits, reasons, then rejected rows in order."""
    lines = [
        f"{summary.rows} rows: {summary.accepted} accepted, "
        f"{summary.duplicate} duplicate, {summary.rejected} rejected "
        f"in {summary.elapsed_s:.1f}s ({summary.retries} retries)"
    ]
    for cause, count in summary.waits.most_common():
        times = "once" if count == 1 else f"{count} times"
        lines.append(
            f"waited {times}, {summary.wait_s[cause]:.0f} s in all, "
            f"{_WAITED_FOR.get(cause, 'for ' + cause)}"
        )
    for reason, count in summary.reasons.most_common():
        lines.append(f"  {reason}: {count}")

    rejections = summary.sorted_rejections()
    for rejection in rejections[:listed]:
        lines.append(f"  row {rejection['row']}: {describe_rejection(rejection)}")
    if len(rejections) > listed:
        more = len(rejections) - listed
        lines.append(f"  … and {more} more (see --json for every rejected row)")
    return lines


def describe_rejection(rejection: dict[str, Any]) -> str:
    """The offending fields and what is wrong with each, else the error itself."""
    problems = []
    for item in rejection.get("fields") or []:
        name, message = item.get("field") or "", item.get("message") or ""
        if name in ("", "$"):
            problems.append(message or str(rejection["reason"]))
        else:
            problems.append(f"{name}: {message}" if message else name)
    if problems:
        return "; ".join(problems)
    if rejection.get("message"):
        return f"{rejection['reason']}: {rejection['message']}"
    return str(rejection["reason"])


@dataclass(frozen=True)
class SendOptions:
    """Where and how fast to send."""

    url: str
    api_key: str
    batch_size: int = 500
    rate: float | None = None
    max_retries: int = 20
    max_retry_wait_s: float = 120.0


@dataclass(frozen=True)
class _Answer:
    """One response; ``unreachable`` says why there was none."""

    status: int
    headers: dict[str, str]
    document: Any
    unreachable: str | None = None


class Sender:
    """Sends batches in order and folds each answer into the summary."""

    def __init__(
        self,
        options: SendOptions,
        on_progress: Callable[[int], None] = lambda _rows: None,
        sleep: Callable[[float], None] = time.sleep,
        on_wait: Callable[[Wait], None] = lambda _wait: None,
    ) -> None:
        self.options = options
        self.summary = SendSummary()
        self._on_progress = on_progress
        self._on_wait = on_wait
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
                reason, _, message = (row.error or "invalid").partition(": ")
                self.summary.reject(row.row, reason, message or None)
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
        pending = batch
        for attempt in range(1, self.options.max_retries + 2):
            answer = self._post_with_retries(pending)
            if answer is None:
                break
            retry = attempt <= self.options.max_retries
            pending = self._fold(pending, answer, retry)
            if not pending:
                break
            self._wait_for_items(len(pending), attempt)
        self._on_progress(len(batch))

    def _wait_for_items(self, rows: int, attempt: int) -> None:
        """Back off before resending the rows the broker could not take.

        An item answered 503 inside a 200 batch was not stored (the gateway's
        producer was full or the broker away); it is as safe to resend as a
        whole refused batch, and dropping it would lose a signal of the feed.
        """
        seconds = self._retry_after({}, attempt)
        reason = f"the gateway could not store {rows} rows yet (503)"
        self._pause(
            Wait(seconds, UNAVAILABLE, reason, attempt, self.options.max_retries)
        )

    def _pause(self, wait: Wait) -> None:
        """Count the retry and its wait, show why, and wait."""
        self.summary.retries += 1
        self.summary.waited(wait)
        self._on_wait(wait)
        self._sleep(wait.seconds)

    def _post_with_retries(self, batch: list[FeedRow]) -> dict[str, Any] | None:
        """The gateway's answer, or None after rejecting the whole batch."""
        payload = json.dumps([row.body for row in batch]).encode("utf-8")
        attempt = 0
        while True:
            answer = self._post(payload)
            status, document = answer.status, answer.document
            if status == 200 and isinstance(document, dict):
                return document
            if status in RETRYABLE and attempt < self.options.max_retries:
                attempt += 1
                self._pause(self._wait(answer, attempt))
                continue
            if status == 401:
                raise SystemExit("the gateway refused the API key (401)")

            reason = _error_code(document) or f"http_{status}"
            message = _error_message(document) or answer.unreachable
            for row in batch:
                self.summary.reject(row.row, reason, message)
            return None

    def _post(self, payload: bytes) -> _Answer:
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
                return _Answer(
                    answer.status, dict(answer.headers), _json(answer.read())
                )
        except urllib.error.HTTPError as error:
            return _Answer(error.code, dict(error.headers), _json(error.read()))
        except urllib.error.URLError as error:
            # Unreachable counts as unavailable: the same bounded retries apply.
            return _Answer(503, {}, None, str(error.reason))
        except (TimeoutError, ConnectionError) as error:
            return _Answer(503, {}, None, str(error) or type(error).__name__)

    def _wait(self, answer: _Answer, attempt: int) -> Wait:
        """How long to wait before the next attempt, and the reason to show."""
        if answer.unreachable is not None:
            cause, reason = UNREACHABLE, f"gateway unreachable ({answer.unreachable})"
        elif answer.status == 429:
            cause, reason = RATE_LIMITED, "rate limited by the gateway"
        else:
            cause, reason = UNAVAILABLE, "gateway unavailable (503)"
        seconds = self._retry_after(answer.headers, attempt)
        return Wait(seconds, cause, reason, attempt, self.options.max_retries)

    def _retry_after(self, headers: dict[str, str], attempt: int) -> float:
        """The server's ``Retry-After`` seconds, else a doubling wait from 1 s."""
        named = {k.lower(): v for k, v in headers.items()}.get("retry-after", "")
        try:
            wait = float(named)
        except ValueError:
            wait = float(2 ** min(attempt - 1, 6))
        return min(max(wait, 0.0), self.options.max_retry_wait_s)

    def _fold(
        self, batch: list[FeedRow], answer: dict[str, Any], retry: bool
    ) -> list[FeedRow]:
        """Count each item; return the rows to send again (503s, when ``retry``).

        A capture id seen before in this run is a duplicate. The batch endpoint
        answers before the processor deduplicates, so a repeat of an event sent by
        an earlier run is counted accepted here and dropped downstream; repeats
        within one file are told apart by their capture id, which is derived from
        the event's identity.
        """
        again: list[FeedRow] = []
        for result in answer.get("results", []):
            item = batch[int(result["index"])]
            row = item.row
            if retry and result.get("status") in RETRYABLE:
                again.append(item)
                continue
            if result.get("status") != 202:
                error = result.get("error") or {}
                fields = error.get("fields")
                self.summary.reject(
                    row,
                    str(error.get("code", "rejected")),
                    error.get("message"),
                    fields if isinstance(fields, list) else None,
                )
                continue

            capture = str(result.get("signal_capture_id"))
            if capture in self._seen_captures or result.get("duplicate") is True:
                self.summary.duplicate += 1
            else:
                self.summary.accepted += 1
            self._seen_captures.add(capture)
        return again


def _json(raw: bytes) -> Any:
    try:
        return json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError):
        return None


def _error_code(document: Any) -> str | None:
    if isinstance(document, dict) and isinstance(document.get("error"), dict):
        return str(document["error"].get("code"))
    return None


def _error_message(document: Any) -> str | None:
    if isinstance(document, dict) and isinstance(document.get("error"), dict):
        message = document["error"].get("message")
        return str(message) if message else None
    return None
