"""Signed HTTP delivery of one webhook, with retries that wait off the partition."""

from __future__ import annotations

import asyncio
import time
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime
from types import TracebackType

import aiohttp
import structlog

from sinks.errors import DestinationRefusedError
from sinks.settings import SinkSettings
from sinks.webhooks.delivery_log import Attempt, DeliveryLog
from sinks.webhooks.guard import DestinationPolicy, GuardedResolver, check_destination
from sinks.webhooks.retry import THROTTLE_STATUSES, parse_retry_after, retry_delay
from sinks.webhooks.signing import signed_headers

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class Job:
    """One webhook to deliver: where, signed with what, and the exact body."""

    webhook_id: str
    workspace_id: str
    capture_id: str
    url: str
    secrets: tuple[str, ...]
    body: bytes


@dataclass(frozen=True)
class Outcome:
    """How a delivery ended; ``reason`` explains a failure for the dead letter."""

    delivered: bool
    attempts: int
    reason: str = ""
    error_type: str = ""


@dataclass(frozen=True)
class _Try:
    status: int | None
    error: str | None
    retry_after: float | None

    @property
    def delivered(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


class Deliverer:
    """Delivers jobs concurrently, never more than N at once to one endpoint."""

    def __init__(self, settings: SinkSettings, delivery_log: DeliveryLog) -> None:
        self._settings = settings
        self._log = delivery_log
        self._policy = DestinationPolicy(
            allow_loopback=settings.webhook_allow_loopback,
            allow_private=settings.webhook_allow_private,
        )
        self._limits: defaultdict[str, asyncio.Semaphore] = defaultdict(
            lambda: asyncio.Semaphore(settings.webhook_concurrency_per_endpoint)
        )
        self._session: aiohttp.ClientSession | None = None

    async def __aenter__(self) -> Deliverer:
        connector = aiohttp.TCPConnector(resolver=GuardedResolver(self._policy))
        self._session = aiohttp.ClientSession(
            connector=connector,
            timeout=aiohttp.ClientTimeout(total=self._settings.webhook_timeout_s),
        )
        return self

    async def __aexit__(
        self,
        _type: type[BaseException] | None,
        _value: BaseException | None,
        _traceback: TracebackType | None,
    ) -> None:
        if self._session is not None:
            await self._session.close()

    async def deliver(self, job: Job) -> Outcome:
        """Try until a 2xx, a refusal, or the last attempt; log every attempt."""
        attempts = self._settings.webhook_max_attempts
        for attempt in range(1, attempts + 1):
            try:
                await check_destination(job.url, self._policy)
            except DestinationRefusedError as refused:
                await self._record(job, attempt, _Try(None, str(refused), None), 0)
                log.warning(
                    "webhook.refused",
                    webhook_id=job.webhook_id,
                    workspace_id=job.workspace_id,
                    reason=refused.reason,
                )
                return Outcome(False, attempt, str(refused), "DestinationRefused")

            result = await self._attempt(job, attempt)
            if result.delivered:
                return Outcome(True, attempt)
            if attempt < attempts:
                await asyncio.sleep(self._delay(job, attempt, result))

        reason = f"gave up after {attempts} attempts: {result.error}"
        return Outcome(False, attempts, reason, "DeliveryExhausted")

    def _delay(self, job: Job, attempt: int, result: _Try) -> float:
        settings = self._settings
        delay = retry_delay(
            attempt,
            settings.webhook_backoff_base_s,
            settings.webhook_backoff_cap_s,
            result.retry_after,
            settings.webhook_retry_after_cap_s,
        )
        log.info(
            "webhook.retry_scheduled",
            webhook_id=job.webhook_id,
            attempt=attempt,
            status=result.status,
            retry_in_s=round(delay, 3),
        )
        return delay

    async def _attempt(self, job: Job, attempt: int) -> _Try:
        """One POST of the stored bytes, signed afresh for this attempt."""
        assert self._session is not None, "use Deliverer as an async context manager"
        headers = signed_headers(job.webhook_id, job.body, job.secrets)

        async with self._limits[job.url]:
            started = time.monotonic()
            try:
                async with self._session.post(
                    job.url, data=job.body, headers=headers, allow_redirects=False
                ) as response:
                    result = _result_of(response)
            except (aiohttp.ClientError, TimeoutError, OSError) as error:
                result = _Try(None, f"{type(error).__name__}: {error}", None)
            latency_ms = int((time.monotonic() - started) * 1000)

        await self._record(job, attempt, result, latency_ms)
        return result

    async def _record(
        self, job: Job, attempt: int, result: _Try, latency_ms: int
    ) -> None:
        await self._log.record(
            Attempt(
                webhook_id=job.webhook_id,
                attempt=attempt,
                workspace_id=job.workspace_id,
                capture_id=job.capture_id,
                url=job.url,
                status_code=result.status,
                error=result.error,
                latency_ms=latency_ms,
                attempted_at=datetime.now(UTC),
                delivered=result.delivered,
            )
        )


def _result_of(response: aiohttp.ClientResponse) -> _Try:
    status = response.status
    if 200 <= status < 300:
        return _Try(status, None, None)

    retry_after = None
    if status in THROTTLE_STATUSES:
        retry_after = parse_retry_after(response.headers.get("Retry-After"))
    return _Try(status, f"HTTP {status}", retry_after)
