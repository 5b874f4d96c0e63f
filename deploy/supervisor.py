"""Child services of ``unstuck dev``: started, watched, restarted, stopped.

Each service runs in its own Python process, as it would in production, so a crash
in one is contained and shows up here as a restart, not as a dead stack.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import structlog

log = structlog.get_logger("dev.supervisor")

MAX_RESTART_DELAY = 30.0


@dataclass
class Child:
    """One supervised service and its restart history."""

    name: str
    argv: list[str]
    log_path: Path
    # Variables for this child alone, over the supervisor's shared environment.
    env: dict[str, str] = field(default_factory=dict)
    process: subprocess.Popen[bytes] | None = None
    restarts: int = 0
    next_start: float = 0.0
    log_file: IO[bytes] | None = field(default=None, repr=False)


def service_argv(module: str, *args: str) -> list[str]:
    """Run a service module with this interpreter, dying with its parent."""
    setpriv = shutil.which("setpriv")
    prefix = [setpriv, "--pdeathsig", "TERM"] if setpriv else []
    return [*prefix, sys.executable, "-m", module, *args]


class Supervisor:
    """Keeps every child running until asked to stop."""

    def __init__(self, children: list[Child], env: dict[str, str]) -> None:
        self.children = children
        self.env = env
        self._stopping = False

    def start_all(self) -> None:
        for child in self.children:
            self._spawn(child)

    def watch(self, poll_seconds: float = 1.0) -> None:
        """Restart children that exit, with a growing delay, until stopped."""
        while not self._stopping:
            self.watch_once()
            time.sleep(poll_seconds)

    def watch_once(self) -> None:
        now = time.monotonic()
        for child in self.children:
            self._check(child, now)

    def request_stop(self, *_args: object) -> None:
        self._stopping = True

    def stop_all(self, grace_seconds: float = 20.0) -> None:
        """SIGTERM every child, wait for them to drain, then kill what is left."""
        self._stopping = True
        for child in self.children:
            if child.process is not None and child.process.poll() is None:
                child.process.send_signal(signal.SIGTERM)

        deadline = time.monotonic() + grace_seconds
        for child in self.children:
            if child.process is None:
                continue
            remaining = max(0.1, deadline - time.monotonic())
            try:
                child.process.wait(remaining)
            except subprocess.TimeoutExpired:
                log.warning("dev.child_killed", child=child.name)
                child.process.kill()
                child.process.wait()
            if child.log_file is not None:
                child.log_file.close()

    def _spawn(self, child: Child) -> None:
        child.log_path.parent.mkdir(parents=True, exist_ok=True)
        if child.log_file is None:
            child.log_file = child.log_path.open("ab")
        child.process = subprocess.Popen(
            child.argv,
            env={**self.env, **child.env},
            stdin=subprocess.DEVNULL,
            stdout=child.log_file,
            stderr=subprocess.STDOUT,
        )
        log.info("dev.child_started", child=child.name, pid=child.process.pid)

    def _check(self, child: Child, now: float) -> None:
        if child.process is None or child.process.poll() is None:
            return
        if child.next_start == 0.0:
            delay = min(MAX_RESTART_DELAY, 2.0 ** min(child.restarts, 5))
            child.next_start = now + delay
            log.warning(
                "dev.child_exited",
                child=child.name,
                code=child.process.returncode,
                restart_in=delay,
                log=str(child.log_path),
            )
        elif now >= child.next_start:
            child.restarts += 1
            child.next_start = 0.0
            self._spawn(child)


def child_env(extra: dict[str, str]) -> dict[str, str]:
    env = dict(os.environ)
    env.update(extra)
    return env
