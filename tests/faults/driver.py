"""A bounded-rate load driver that remembers which signals got a 2xx.

Each signal is distinct (its email carries its number), so a retried body keeps
its capture id and every 2xx can be matched to a row later. The driver retries
what the gateway refused for now (503, 429, a dropped connection) with the same
body, as a well-behaved producer would; it never retries a 4xx other than 429.
"""

from __future__ import annotations

import http.client
import json
import threading
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

# A retry waits at most this long whatever Retry-After says: the scenarios are
# short and the gateway's hint is meant for real producers.
MAX_RETRY_WAIT_S = 1.0
REQUEST_TIMEOUT_S = 15.0
OCCURRED_AT = "2026-01-15T09:30:00Z"
# The warm-up signal of each scenario; the tally leaves it out.
PROBE_DOMAIN = "probe.example"


def signal_body(tag: str, number: int, domain: str = "example.com") -> dict[str, Any]:
    """The ``number``-th distinct signal of a run named ``tag``."""
    return {
        "signal_type": "website_visit",
        "source": "fault-suite",
        "event_name": "pricing_page_viewed",
        "occurred_at": OCCURRED_AT,
        "identity": {
            "email": f"{tag}-{number}@{domain}",
            "company_domain": domain,
            "first_name": "Jane",
            "title": "VP of Marketing",
        },
        "context": {"page_url": "https://example.com/pricing", "n": number},
    }


@dataclass
class Outcome:
    """What the driver saw for one signal."""

    capture_id: str | None = None
    first_sent: float = 0.0
    answered: float = 0.0
    tries: int = 0
    rejected: str | None = None


@dataclass
class LoadDriver:
    """Sends ``total`` distinct signals in batches at about ``rate`` a second."""

    url: str
    api_key: str
    tag: str
    total: int
    rate: float = 100.0
    batch: int = 20
    give_up_after_s: float = 120.0
    outcomes: dict[int, Outcome] = field(default_factory=dict)
    statuses: dict[int, int] = field(default_factory=dict)
    _thread: threading.Thread | None = None
    _stop: threading.Event = field(default_factory=threading.Event)

    @property
    def sent(self) -> int:
        """Distinct signals sent at least once."""
        return len(self.outcomes)

    def accepted(self) -> dict[int, str]:
        """Signal number to capture id, for every signal that got a 2xx."""
        return {n: o.capture_id for n, o in self.outcomes.items() if o.capture_id}

    def rejected(self) -> dict[int, str]:
        """Signals refused for good (a 4xx other than 429): never expected here."""
        return {n: o.rejected for n, o in self.outcomes.items() if o.rejected}

    def start(self) -> None:
        """Send in a background thread; ``wait`` collects it."""
        self._thread = threading.Thread(target=self.run, daemon=True)
        self._thread.start()

    def wait(self, timeout: float = 300.0) -> None:
        """Wait until every signal is answered or given up."""
        assert self._thread is not None
        self._thread.join(timeout)
        if self._thread.is_alive():
            self._stop.set()
            self._thread.join(30)

    def wait_accepted(self, count: int, timeout: float = 120.0) -> None:
        """Block until ``count`` signals got a 2xx, to time a fault mid-stream."""
        deadline = time.monotonic() + timeout
        while len(self.accepted()) < count:
            if time.monotonic() > deadline:
                raise TimeoutError(f"only {len(self.accepted())} of {count} accepted")
            time.sleep(0.05)

    def run(self) -> None:
        """Send every signal, then retry the unanswered ones until the deadline."""
        pending: list[int] = []
        interval = self.batch / self.rate
        next_at = time.monotonic()
        number = 0

        while (number < self.total or pending) and not self._stop.is_set():
            fresh = list(range(number, min(number + self.batch, self.total)))
            number += len(fresh)
            chunk = pending[: self.batch] + fresh
            pending = pending[self.batch :]
            pending += self._send(chunk)

            next_at += interval
            time.sleep(max(0.0, next_at - time.monotonic()))

    def _send(self, numbers: list[int]) -> list[int]:
        """POST one batch; return the numbers to send again."""
        now = time.monotonic()
        for n in numbers:
            outcome = self.outcomes.setdefault(n, Outcome(first_sent=now))
            outcome.tries += 1
        live = [
            n
            for n in numbers
            if now - self.outcomes[n].first_sent < self.give_up_after_s
        ]

        body = json.dumps([signal_body(self.tag, n) for n in live]).encode()
        status, document, retry_after = self._post(body)
        self.statuses[status] = self.statuses.get(status, 0) + 1
        if status != 200 or not isinstance(document, dict):
            time.sleep(min(retry_after, MAX_RETRY_WAIT_S))
            return live

        again: list[int] = []
        answered = time.monotonic()
        for result in document["results"]:
            n = live[result["index"]]
            if result["status"] in (200, 202):
                self._record(n, result["signal_capture_id"], answered)
            elif result["status"] in (429, 503):
                again.append(n)
            else:
                self.outcomes[n].rejected = json.dumps(result)
        return again

    def _record(self, n: int, capture_id: str, answered: float) -> None:
        outcome = self.outcomes[n]
        if outcome.capture_id not in (None, capture_id):
            outcome.rejected = f"capture id changed {outcome.capture_id}->{capture_id}"
        if outcome.capture_id is None:
            outcome.answered = answered
        outcome.capture_id = capture_id

    def _post(self, body: bytes) -> tuple[int, Any, float]:
        """One request; a refused or dropped connection is status 0."""
        parts = urlsplit(self.url)
        connection = http.client.HTTPConnection(
            parts.hostname or "127.0.0.1", parts.port, timeout=REQUEST_TIMEOUT_S
        )
        headers = {
            "Authorization": f"Bearer {self.api_key}",
            "Content-Type": "application/json",
        }
        try:
            connection.request("POST", "/signals/batch", body, headers)
            response = connection.getresponse()
            payload = response.read()
        except (OSError, http.client.HTTPException):
            return 0, None, 0.3
        finally:
            connection.close()

        retry_after = float(response.headers.get("Retry-After") or 0.3)
        try:
            document = json.loads(payload)
        except ValueError:
            document = None
        return response.status, document, retry_after
