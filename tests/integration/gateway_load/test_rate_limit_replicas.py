"""Two gateway replicas hold one workspace to its limit together."""

from __future__ import annotations

import asyncio
import time
import urllib.error
import urllib.request
import uuid
from typing import Any

from deploy.local_kafka import pick_port
from schemas.workspace import new_workspace, publish_workspace
from tests.integration.gateway_load.helpers import (
    Answer,
    send_all,
    signal_body,
    wait_ready,
)
from tests.integration.pipeline.processes import Pipeline

LIMIT = 200


def wait_known(url: str, api_key: str, timeout: float = 30.0) -> None:
    """Poll until the gateway at ``url`` has read the workspace of ``api_key``."""
    probe = f"{url}/signals/00000000-0000-0000-0000-000000000000"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        request = urllib.request.Request(
            probe, headers={"Authorization": f"Bearer {api_key}"}
        )
        try:
            urllib.request.urlopen(request, timeout=5)
        except urllib.error.HTTPError as error:
            if error.code != 401:
                return
        time.sleep(0.2)
    raise TimeoutError("the gateway never saw the workspace")


def wait_minute_start(margin: float = 40.0) -> None:
    """Wait for a fresh minute when too little of this one is left for the test."""
    while time.time() % 60 > 60 - margin:
        time.sleep(0.2)


def test_two_replicas_hold_the_limit_within_five_percent(pipeline: Pipeline) -> None:
    """2xx answers across two replicas add up to the minute limit within 5%."""
    config, api_key = new_workspace(f"limit-{uuid.uuid4().hex[:8]}")
    config["rate_limit_per_minute"] = LIMIT
    publish_workspace(pipeline.kafka_bootstrap, pipeline.prefix, config)
    port = pick_port(0)
    second = pipeline.start(
        "gateway", {"UNSTUCK_PORT": str(port), "UNSTUCK_REPLY_TIMEOUT_SECONDS": "0"}
    )
    second_url = f"http://127.0.0.1:{port}"
    try:
        wait_ready(second_url, 60)
        for url in (pipeline.url, second_url):
            wait_known(url, api_key)
        wait_minute_start()

        bodies = [signal_body(f"limit{n}-", n) for n in range(2 * LIMIT)]
        answers = asyncio.run(_both(pipeline.url, second_url, api_key, bodies))
    finally:
        second.terminate()
        second.wait(30)
        pipeline.processes["gateway"].remove(second)

    accepted = sum(1 for a in answers if a.status in (200, 202))
    refused = [a for a in answers if a.status == 429]
    assert abs(accepted - LIMIT) <= LIMIT * 0.05
    assert len(answers) == accepted + len(refused)
    assert all(int(a.headers["Retry-After"]) >= 1 for a in refused)
    assert {a.headers["RateLimit-Limit"] for a in refused} == {str(LIMIT)}
    assert {a.headers["RateLimit-Remaining"] for a in refused} == {"0"}


async def _both(
    first: str, second: str, api_key: str, bodies: list[dict[str, Any]]
) -> list[Answer]:
    half = len(bodies) // 2
    one, two = await asyncio.gather(
        send_all(first, api_key, bodies[:half], 10),
        send_all(second, api_key, bodies[half:], 10),
    )
    return one + two
