"""The floor the gateway is measured against: produce the body, validate nothing.

Same producer and the same settings as the gateway, so the ratio between the two
is the cost of what the gateway adds (auth, validation, keys, encoding, limits).
"""

from __future__ import annotations

import hashlib
import json
import os

from aiohttp import web

from ingest_gateway.producer import SignalProducer
from ingest_gateway.settings import GatewaySettings
from schemas.topics import SIGNALS_RAW

PRODUCER = web.AppKey("producer", SignalProducer)
TOPIC = web.AppKey("topic", str)


async def post_signal(request: web.Request) -> web.Response:
    """Produce the raw body keyed by its hash and answer once acknowledged."""
    body = await request.read()
    await request.app[PRODUCER].send(
        request.app[TOPIC], hashlib.sha256(body).digest(), body
    )
    return web.json_response({"status": "accepted"}, status=202)


async def post_batch(request: web.Request) -> web.Response:
    """Split the array and produce each item, one future for the whole batch."""
    items = json.loads(await request.read())
    messages = []
    for item in items:
        value = json.dumps(item).encode()
        messages.append((hashlib.sha256(value).digest(), value))
    outcomes = await request.app[PRODUCER].send_many(request.app[TOPIC], messages)
    accepted = sum(1 for outcome in outcomes if outcome is None)
    return web.json_response({"accepted": accepted})


async def start(app: web.Application) -> None:
    settings = GatewaySettings()
    app[PRODUCER] = SignalProducer(
        settings.kafka_bootstrap_servers,
        settings.delivery_timeout_ms,
        settings.producer_linger_ms,
        settings.producer_queue_max_messages,
    )
    app[TOPIC] = SIGNALS_RAW.name(settings.topic_prefix)


async def stop(app: web.Application) -> None:
    app[PRODUCER].close(10.0)


def main() -> None:
    """Serve on ``UNSTUCK_PORT`` like the gateway."""
    app = web.Application(client_max_size=16 * 1024 * 1024)
    app.on_startup.append(start)
    app.on_cleanup.append(stop)
    app.router.add_post("/signals", post_signal)
    app.router.add_post("/signals/batch", post_batch)
    app.router.add_get("/readyz", readyz)
    port = int(os.environ["UNSTUCK_PORT"])
    web.run_app(app, host="127.0.0.1", port=port, access_log=None, print=None)


async def readyz(_request: web.Request) -> web.Response:
    """Ready as soon as it serves; the producer connects lazily."""
    return web.json_response({"ready": True})


if __name__ == "__main__":
    main()
