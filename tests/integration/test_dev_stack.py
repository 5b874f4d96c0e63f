"""``unstuck dev`` as a newcomer runs it: ready, answering, and stopping cleanly."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import IO, Any

import aiohttp

from deploy.devstack import DEV_LIMIT_PER_MINUTE
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


def unstuck_json(data_dir: Path, *args: str) -> Any:
    """A verb run as a user would, beside the stack: settings from its dev.env."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("UNSTUCK_") and key != "KAFKA_BOOTSTRAP_SERVERS"
    }
    env["UNSTUCK_DATA_DIR"] = str(data_dir)
    done = subprocess.run(
        [sys.executable, "-m", "deploy", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return json.loads(done.stdout)


def stop(process: Any) -> int:
    process.send_signal(signal.SIGTERM)
    code: int = process.wait(60)
    return code


async def test_dev_answers_and_restarts_with_the_same_key(
    tmp_path: Path, kafka_bootstrap: str, database_url: str
) -> None:
    """A qualified 200 for the printed key; a rival dev refused; restarts keep it."""
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
        rival = start_dev(data_dir, kafka_bootstrap, database_url)
        rival_output, _ = rival.communicate(timeout=60)
        limits = unstuck_json(data_dir, "workspace", "limits", "--json")
        env_during = read_env_file(data_dir / "dev.env")
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
    assert rival.returncode != 0
    assert "already running" in rival_output
    assert env_during == settings
    assert limits["rate_limit_per_minute"] == DEV_LIMIT_PER_MINUTE
    assert (data_dir / "processor").is_dir()
    assert first_exit == 0
    assert again["UNSTUCK_API_KEY"] == settings["UNSTUCK_API_KEY"]
    assert second_exit == 0
