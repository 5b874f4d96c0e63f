"""``unstuck dev`` as a newcomer runs it: ready, answering, and stopping cleanly."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import IO, Any

import aiohttp

from deploy.environment import read_env_file

READY_LINE = "Unstuck is ready"


def start_dev(data_dir: Path, kafka_bootstrap: str, database_url: str) -> Any:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("UNSTUCK_")
    }
    env.update(
        {"KAFKA_BOOTSTRAP_SERVERS": kafka_bootstrap, "DATABASE_URL": database_url}
    )
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "deploy",
            "dev",
            "--data-dir",
            str(data_dir),
            "--port",
            "0",
        ],
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def wait_ready(process: Any, timeout: float = 150.0) -> list[str]:
    """Read the dev command's output until it says it is ready."""
    stream: IO[str] = process.stdout
    lines: list[str] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = stream.readline()
        if not line and process.poll() is not None:
            break
        lines.append(line)
        if line.startswith(READY_LINE):
            return lines
    raise AssertionError("unstuck dev never became ready:\n" + "".join(lines[-40:]))


def stop(process: Any) -> int:
    process.send_signal(signal.SIGTERM)
    code: int = process.wait(60)
    return code


async def test_dev_answers_and_restarts_with_the_same_key(
    tmp_path: Path, kafka_bootstrap: str, database_url: str
) -> None:
    """The printed key gets a qualified 200; SIGTERM exits 0; restarts keep the key."""
    data_dir = tmp_path / "dev"
    body = {
        "signal_type": "custom_event",
        "source": "product_app",
        "event_name": "teammate_invited",
        "occurred_at": "2026-11-20T09:30:00Z",
        "identity": {"email": "dana@example.org", "title": "Head of Data"},
    }

    first = start_dev(data_dir, kafka_bootstrap, database_url)
    try:
        wait_ready(first)
        settings = read_env_file(data_dir / "dev.env")
        headers = {"Authorization": f"Bearer {settings['UNSTUCK_API_KEY']}"}
        async with (
            aiohttp.ClientSession(headers=headers) as session,
            session.post(f"{settings['UNSTUCK_URL']}/signals", json=body) as response,
        ):
            status, answer = response.status, await response.json()
    finally:
        first_exit = stop(first)

    second = start_dev(data_dir, kafka_bootstrap, database_url)
    try:
        wait_ready(second)
        again = read_env_file(data_dir / "dev.env")
    finally:
        second_exit = stop(second)

    assert status == 200, answer
    assert answer["qualification"] is not None
    assert first_exit == 0
    assert again["UNSTUCK_API_KEY"] == settings["UNSTUCK_API_KEY"]
    assert second_exit == 0
