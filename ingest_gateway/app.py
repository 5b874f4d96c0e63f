"""The HTTP face of the pipeline: authenticate, validate, key, produce, answer."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import structlog
from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from ingest_gateway import metrics
from ingest_gateway.audiences import add_audience_routes
from ingest_gateway.body import may_hold_bad_text, parse_json
from ingest_gateway.capture import Capture, answer, capture_signal, dumps
from ingest_gateway.errors import ApiError, BackPressureError, FieldError
from ingest_gateway.openapi import openapi_handler
from ingest_gateway.producer import SignalProducer
from ingest_gateway.ratelimit import SharedRateLimiter
from ingest_gateway.replies import ReplyWaiter
from ingest_gateway.settings import GatewaySettings
from ingest_gateway.signal_types_api import SignalTypesApi
from ingest_gateway.store import CaptureStore
from ingest_gateway.usage_bus import UsageBus
from ingest_gateway.validation import ValidSignal, validate_signal
from schemas.topics import RATELIMIT_USAGE, SIGNALS_RAW, SIGNALS_REPLIES
from schemas.workspace import WorkspaceDirectory

log = structlog.get_logger("gateway")
access_log = structlog.get_logger("gateway.access")

SETTINGS = web.AppKey("settings", GatewaySettings)
DIRECTORY = web.AppKey("directory", WorkspaceDirectory)
PRODUCER = web.AppKey("producer", SignalProducer)
REPLIES = web.AppKey("replies", ReplyWaiter)
LIMITER = web.AppKey("limiter", SharedRateLimiter)
USAGE = web.AppKey("usage", UsageBus)
STORE = web.AppKey("store", CaptureStore)
WORKSPACE = "workspace"
JSON_TYPES = ("application/json", "application/x-ndjson", "application/ndjson")

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def json_response(
    document: Any, status: int = 200, headers: dict[str, str] | None = None
) -> web.Response:
    return web.Response(
        text=dumps(document),
        status=status,
        content_type="application/json",
        headers=headers,
    )


@web.middleware
async def errors_middleware(
    request: web.Request, handler: Handler
) -> web.StreamResponse:
    """Every failure becomes a JSON answer; nothing reaches the caller as a 500 page."""
    started = time.perf_counter()
    try:
        response = await handler(request)
    except ApiError as error:
        metrics.REJECTED.labels(error.code).inc()
        response = json_response(error.as_json(), error.status, error.headers)
    except web.HTTPException as error:
        code = error.reason.lower().replace(" ", "_")
        api_error = ApiError(error.status, code, error.reason)
        response = json_response(api_error.as_json(), error.status)
    except Exception:
        log.exception("gateway.unhandled", path=request.path)
        api_error = ApiError(
            500, "internal_error", "internal error; nothing was stored"
        )
        response = json_response(api_error.as_json(), 500)

    elapsed = time.perf_counter() - started
    route = request.match_info.route.resource
    route_name = route.canonical if route is not None else "unmatched"
    metrics.LATENCY.labels(route_name).observe(elapsed)
    workspace = request.get(WORKSPACE)
    access_log.info(
        "http.request",
        method=request.method,
        path=route_name,
        status=response.status,
        workspace=workspace["workspace_id"] if workspace else None,
        capture_id=request.get("capture_id"),
        ms=round(elapsed * 1000, 2),
    )
    return response


def authenticate(request: web.Request) -> dict[str, Any]:
    """The workspace of the bearer key; runs before any body is read."""
    header = request.headers.get("Authorization", "")
    scheme, _, key = header.partition(" ")
    if scheme.lower() != "bearer" or not key.strip():
        raise ApiError(
            401,
            "unauthorized",
            "send Authorization: Bearer <api key>",
            headers={"WWW-Authenticate": "Bearer"},
        )

    workspace = request.app[DIRECTORY].by_api_key(key.strip())
    if workspace is None:
        raise ApiError(
            401,
            "unauthorized",
            "unknown API key",
            headers={"WWW-Authenticate": "Bearer"},
        )
    request[WORKSPACE] = workspace
    return workspace


async def read_body(request: web.Request) -> bytes:
    """The body, refused with 413 as soon as it passes the cap, chunked or not."""
    settings = request.app[SETTINGS]
    content_type = request.content_type
    if request.can_read_body and content_type not in JSON_TYPES:
        raise ApiError(415, "unsupported_media_type", "send application/json")

    limit = settings.max_body_bytes
    if request.content_length is not None and request.content_length > limit:
        raise ApiError(413, "body_too_large", f"the body is larger than {limit} bytes")

    chunks: list[bytes] = []
    size = 0
    async for chunk in request.content.iter_chunked(64 * 1024):
        size += len(chunk)
        if size > limit:
            raise ApiError(
                413, "body_too_large", f"the body is larger than {limit} bytes"
            )
        chunks.append(chunk)
    return b"".join(chunks)


def validate(request: web.Request, body: Any, workspace: dict[str, Any]) -> ValidSignal:
    settings = request.app[SETTINGS]
    return validate_signal(
        body,
        workspace,
        now=datetime.now(UTC),
        max_future=timedelta(seconds=settings.max_future_skew_seconds),
        max_depth=settings.max_context_depth,
    )


async def spend(
    request: web.Request, workspace: dict[str, Any], events: int
) -> dict[str, str]:
    """Take ``events`` from the workspace's budget or refuse with 429."""
    try:
        decision = await request.app[LIMITER].take(
            workspace["workspace_id"],
            events,
            workspace["rate_limit_per_minute"],
            workspace["rate_limit_per_day"],
        )
    except BackPressureError as error:
        raise ApiError(
            503,
            "unavailable",
            "the rate limit could not be checked; retry after Retry-After seconds",
            headers={"Retry-After": str(error.retry_after_seconds)},
        ) from error
    if not decision.allowed:
        raise ApiError(
            429,
            "rate_limited",
            "the workspace's event budget is spent; retry after Retry-After seconds",
            headers=decision.headers(),
        )
    return decision.headers()


async def produce(request: web.Request, capture: Capture) -> None:
    settings = request.app[SETTINGS]
    try:
        await request.app[PRODUCER].send(
            SIGNALS_RAW.name(settings.topic_prefix),
            capture.dedupe_key.encode(),
            capture.value,
        )
    except BackPressureError as error:
        raise ApiError(
            503,
            "unavailable",
            "the signal was not stored; retry after Retry-After seconds",
            headers={"Retry-After": str(error.retry_after_seconds)},
        ) from error


async def post_signal(request: web.Request) -> web.Response:
    """POST /signals: store one signal and answer with its capture."""
    workspace = authenticate(request)
    body = parse_json(await read_body(request))
    signal = validate(request, body, workspace)
    headers = await spend(request, workspace, 1)

    capture = capture_signal(signal, workspace["workspace_id"], datetime.now(UTC))
    request["capture_id"] = capture.capture_id
    replies = request.app[REPLIES]
    waiting = replies.expect(capture.capture_id)
    try:
        await produce(request, capture)
    except ApiError:
        replies.forget(capture.capture_id, waiting)
        raise
    metrics.ACCEPTED.inc()

    settings = request.app[SETTINGS]
    timeout = settings.reply_timeout_seconds
    if signal.idempotency_key is not None:
        timeout = settings.idempotency_reply_timeout_seconds
    reply = await replies.wait(capture.capture_id, waiting, timeout)
    return reply_response(capture, reply, headers, signal.idempotency_key)


def reply_response(
    capture: Capture,
    reply: dict[str, Any] | None,
    headers: dict[str, str],
    idempotency_key: str | None = None,
) -> web.Response:
    if reply is not None and reply["status"] == "conflict":
        error = ApiError(
            409,
            "idempotency_conflict",
            "idempotency_key was used before with a different body",
            [FieldError("idempotency_key", "reused with a different body")],
        )
        document = error.as_json()
        document["signal_capture_id"] = reply["capture_id"]
        return json_response(document, 409, headers)

    if reply is not None and reply["status"] == "duplicate":
        metrics.DUPLICATES.inc()
    document = answer(capture, reply)
    if reply is None and idempotency_key is not None:
        # Only the processor can tell a replay from a reused key; resending the
        # same request later is safe and answers 200 duplicate or 409 for sure.
        document["status"] = "pending"
    return json_response(document, 202 if reply is None else 200, headers)


async def post_batch(request: web.Request) -> web.Response:
    """POST /signals/batch: many signals; one bad item never rejects the others."""
    workspace = authenticate(request)
    raw = await read_body(request)
    items = batch_items(request, raw)

    received_at = datetime.now(UTC)
    results: list[dict[str, Any] | None] = [None] * len(items)
    captures = capture_items(request, raw, items, workspace, received_at, results)

    headers = await spend(request, workspace, len(captures)) if captures else {}
    outcomes = await request.app[PRODUCER].send_many(
        SIGNALS_RAW.name(request.app[SETTINGS].topic_prefix),
        [(capture.dedupe_key.encode(), capture.value) for _, capture in captures],
    )
    for (index, capture), outcome in zip(captures, outcomes, strict=True):
        results[index] = batch_result(index, capture, outcome)

    accepted = sum(1 for r in results if r is not None and r["status"] == 202)
    metrics.ACCEPTED.inc(accepted)
    summary = {"accepted": accepted, "rejected": len(results) - accepted}
    return json_response({"results": results, **summary}, 200, headers)


def capture_items(
    request: web.Request,
    raw: bytes,
    items: list[Any],
    workspace: dict[str, Any],
    received_at: datetime,
    results: list[dict[str, Any] | None],
) -> list[tuple[int, Capture]]:
    """Validate, key and encode each item; a refused item's answer goes in results.

    What does not depend on the item (the clock, the limits, whether the raw text
    could hold NUL or a lone surrogate at all) is worked out once for the batch.
    """
    settings = request.app[SETTINGS]
    max_future = timedelta(seconds=settings.max_future_skew_seconds)
    text_checked = not may_hold_bad_text(raw)
    workspace_id = workspace["workspace_id"]

    captures: list[tuple[int, Capture]] = []
    for index, item in enumerate(items):
        if isinstance(item, ApiError):
            results[index] = {"index": index, "status": item.status, **item.as_json()}
            continue
        try:
            signal = validate_signal(
                item,
                workspace,
                now=received_at,
                max_future=max_future,
                max_depth=settings.max_context_depth,
                text_checked=text_checked,
            )
        except ApiError as error:
            results[index] = {"index": index, "status": error.status, **error.as_json()}
            continue
        captures.append((index, capture_signal(signal, workspace_id, received_at)))
    return captures


def batch_items(request: web.Request, raw: bytes) -> list[Any]:
    settings = request.app[SETTINGS]
    if request.content_type in ("application/x-ndjson", "application/ndjson"):
        lines = [line for line in raw.splitlines() if line.strip()]
        items = [_parse_line(line, number) for number, line in enumerate(lines)]
    else:
        items = parse_json(raw)

    if not isinstance(items, list):
        raise ApiError(
            400, "invalid_body", "the batch must be a JSON array", [FieldError("$", "")]
        )
    if len(items) > settings.max_batch_items:
        raise ApiError(
            413,
            "batch_too_large",
            f"at most {settings.max_batch_items} signals a batch",
        )
    return items


def _parse_line(line: bytes, number: int) -> Any:
    """One NDJSON line; a line that does not parse becomes that item's error."""
    try:
        return parse_json(line)
    except ApiError as error:
        error.fields = [FieldError(f"[{number}]", error.message)]
        return error


def batch_result(index: int, capture: Capture, outcome: object) -> dict[str, Any]:
    if isinstance(outcome, BackPressureError):
        outcome = ApiError(
            503,
            "unavailable",
            "the signal was not stored; retry after Retry-After seconds",
            headers={"Retry-After": str(outcome.retry_after_seconds)},
        )
    if isinstance(outcome, ApiError):
        return {"index": index, "status": outcome.status, **outcome.as_json()}
    if isinstance(outcome, BaseException):
        raise outcome
    return {
        "index": index,
        "status": 202,
        "signal_capture_id": capture.capture_id,
        "matched_record_id": capture.lead_id,
    }


async def get_signal(request: web.Request) -> web.Response:
    """GET /signals/{id}: the capture as it stands, in the caller's workspace only."""
    workspace = authenticate(request)
    capture_id = request.match_info["capture_id"]
    request["capture_id"] = capture_id

    found = await request.app[STORE].capture(workspace["workspace_id"], capture_id)
    if found is None:
        raise ApiError(404, "not_found", "no capture with that id in this workspace")
    return json_response(found)


async def healthz(_request: web.Request) -> web.Response:
    return json_response({"status": "ok"})


async def readyz(request: web.Request) -> web.Response:
    ready = request.app[DIRECTORY].ready
    return json_response({"ready": ready}, 200 if ready else 503)


async def metrics_handler(request: web.Request) -> web.Response:
    metrics.PRODUCER_QUEUE.set(request.app[PRODUCER].queue_length())
    return web.Response(
        body=generate_latest(), headers={"Content-Type": CONTENT_TYPE_LATEST}
    )


async def start_components(app: web.Application) -> None:
    settings = app[SETTINGS]
    directory = WorkspaceDirectory(
        settings.kafka_bootstrap_servers, settings.topic_prefix
    )
    directory.start()
    await asyncio.to_thread(directory.wait_ready, 60.0)
    app[DIRECTORY] = directory

    app[PRODUCER] = SignalProducer(
        settings.kafka_bootstrap_servers,
        settings.delivery_timeout_ms,
        settings.producer_linger_ms,
        settings.producer_queue_max_messages,
    )
    usage = UsageBus(
        settings.kafka_bootstrap_servers, RATELIMIT_USAGE.name(settings.topic_prefix)
    )
    limiter = app[LIMITER]
    await asyncio.to_thread(usage.start, asyncio.get_running_loop(), limiter.deliver)
    limiter.attach(usage)
    app[USAGE] = usage
    replies = ReplyWaiter(
        settings.kafka_bootstrap_servers, SIGNALS_REPLIES.name(settings.topic_prefix)
    )
    await asyncio.to_thread(replies.start, asyncio.get_running_loop())
    app[REPLIES] = replies
    app[STORE] = CaptureStore(settings.database_url)
    await app[STORE].open()
    log.info("gateway.started", host=settings.host, port=settings.port)


async def stop_components(app: web.Application) -> None:
    """Flush what was acknowledged to nobody yet; runs after in-flight requests end."""
    undelivered = await asyncio.to_thread(app[PRODUCER].close, 10.0)
    log.info("gateway.stopped", undelivered=undelivered)
    await asyncio.to_thread(app[USAGE].stop)
    app[REPLIES].stop()
    app[DIRECTORY].stop()
    await app[STORE].close()


def build_app(settings: GatewaySettings) -> web.Application:
    """The gateway application, its routes and the lifecycle of its clients."""
    app = web.Application(
        middlewares=[errors_middleware], client_max_size=settings.max_body_bytes
    )
    app[SETTINGS] = settings
    app[LIMITER] = SharedRateLimiter(settings.ratelimit_claim_timeout_seconds)
    app.on_startup.append(start_components)
    app.on_cleanup.append(stop_components)

    app.router.add_post("/signals", post_signal)
    app.router.add_post("/signals/batch", post_batch)
    app.router.add_get("/signals/{capture_id}", get_signal)
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
    app.router.add_get("/metrics", metrics_handler)
    app.router.add_get("/openapi.json", openapi_handler)
    signal_types = SignalTypesApi(settings, lambda: app[DIRECTORY], authenticate)
    app.router.add_routes(signal_types.routes())
    add_audience_routes(app, settings.database_url)
    return app
