"""Signed HTTP attempts of one webhook, at most N at once per endpoint."""

from __future__ import annotations

import asyncio
import time
from collections import defaultdict
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from types import TracebackType

import aiohttp
import structlog

from sinks.errors import DestinationRefusedError
from sinks.settings import SinkSettings
from sinks.webhooks.delivery_log import Attempt, DeliveryLog
from sinks.webhooks.guard import DestinationPolicy, GuardedResolver, check_destination
from sinks.webhooks.retry import THROTTLE_STATUSES, parse_retry_after
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
class TryResult:
    """How one attempt ended; ``retry_after`` is the receiver's wish, if it said."""

    status: int | None
    error: str | None
    retry_after: float | None
    refused: bool = False
    latency_ms: int = 0
    attempted_at: datetime = field(default_factory=lambda: datetime.now(UTC))

    @property
    def delivered(self) -> bool:
        """Whether the receiver took it (any 2xx)."""
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

    async def attempt(self, job: Job) -> TryResult:
        """One attempt: refuse a forbidden destination, else POST the stored bytes.

        Neither waits between attempts (the retry topic does) nor logs: the
        caller logs once the attempt's consequence (a retry, a dead letter) is
        durable, so a restart never mistakes a logged attempt for a finished one.
        """
        started = time.monotonic()
        try:
            await check_destination(job.url, self._policy)
        except DestinationRefusedError as refused:
            log.warning(
                "webhook.refused",
                webhook_id=job.webhook_id,
                workspace_id=job.workspace_id,
                reason=refused.reason,
            )
            return TryResult(None, str(refused), None, refused=True)
        except OSError as error:
            return TryResult(None, f"{type(error).__name__}: {error}", None)

        result = await self._post(job)
        return replace(result, latency_ms=int((time.monotonic() - started) * 1000))

    async def record(self, job: Job, attempt: int, result: TryResult) -> None:
        """Append the attempt to the delivery log."""
        await self._log.record(
            Attempt(
                webhook_id=job.webhook_id,
                attempt=attempt,
                workspace_id=job.workspace_id,
                capture_id=job.capture_id,
                url=job.url,
                status_code=result.status,
                error=result.error,
                latency_ms=result.latency_ms,
                attempted_at=result.attempted_at,
                delivered=result.delivered,
            )
        )

    async def _post(self, job: Job) -> TryResult:
        """One POST, signed afresh so the timestamp is this attempt's."""
        assert self._session is not None, "use Deliverer as an async context manager"
        headers = signed_headers(job.webhook_id, job.body, job.secrets)

        async with self._limits[job.url]:
            try:
                async with self._session.post(
                    job.url, data=job.body, headers=headers, allow_redirects=False
                ) as response:
                    return _result_of(response)
            except (aiohttp.ClientError, TimeoutError, OSError) as error:
                return TryResult(None, f"{type(error).__name__}: {error}", None)


def _result_of(response: aiohttp.ClientResponse) -> TryResult:
    status = response.status
    if 200 <= status < 300:
        return TryResult(status, None, None)

    retry_after = None
    if status in THROTTLE_STATUSES:
        retry_after = parse_retry_after(response.headers.get("Retry-After"))
    return TryResult(status, f"HTTP {status}", retry_after)
