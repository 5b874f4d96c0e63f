"""A webhook sink as its own process, the way ``unstuck dev`` runs it.

A process rather than a thread when the test measures timing: the worker then
competes with the test's receiver for CPU, not for one interpreter lock.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path


class WebhookWorkerProcess:
    """``python -m sinks.webhooks`` with the given settings, logging to a file."""

    def __init__(self, env: dict[str, str], log_path: Path) -> None:
        self.log_path = log_path
        with log_path.open("ab") as log:
            self._process = subprocess.Popen(
                [sys.executable, "-m", "sinks.webhooks"],
                env={**os.environ, **env},
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
            )

    def alive(self) -> bool:
        """Whether the worker is still running."""
        return self._process.poll() is None

    def log_tail(self, chars: int = 3000) -> str:
        """The end of the worker's log, for a failure message."""
        return self.log_path.read_text(errors="replace")[-chars:]

    def stop(self, grace_s: float = 30.0) -> int | None:
        """SIGTERM, wait; the exit status, or None when it had to be killed."""
        if self.alive():
            self._process.send_signal(signal.SIGTERM)
        try:
            return self._process.wait(grace_s)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
            return None
