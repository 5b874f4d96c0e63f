"""The pipeline's services as real processes, as ``unstuck dev`` runs them.

Tests drive them over HTTP and Kafka and may kill or restart any one of them. A
processor that ends itself asking to be started again (``stream_processors.exits``)
is restarted at once, as ``unstuck dev``'s supervisor and Kubernetes restart it;
each restart is kept in ``Pipeline.restarts``.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from deploy.local_kafka import pick_port
from stream_processors.exits import RESTART_EXITS

SERVICES = {
    "gateway": "ingest_gateway",
    "processor": "stream_processors",
    "sink-records": "sinks.records",
    "sink-webhooks": "sinks.webhooks",
    "sink-audiences": "sinks.audiences",
}

# Every pipeline of the session in creation order, so a failed test can show the
# logs of the ones it built itself (through a factory fixture) as well.
CREATED: list[Pipeline] = []


@dataclass
class Pipeline:
    """One isolated pipeline: its own topic prefix, groups and gateway port."""

    kafka_bootstrap: str
    database_url: str
    prefix: str
    log_dir: Path
    extra_env: dict[str, str] = field(default_factory=dict)
    port: int = 0
    processes: dict[str, list[subprocess.Popen[bytes]]] = field(default_factory=dict)
    # Processes a test ended on purpose, or that ended asking for a restart; their
    # logs keep their numbers.
    ended: list[tuple[str, subprocess.Popen[bytes]]] = field(default_factory=list)
    # (service, exit status) of every process restarted because it asked to be.
    restarts: list[tuple[str, int]] = field(default_factory=list)

    def __post_init__(self) -> None:
        CREATED.append(self)
        self._lock = threading.RLock()
        self._overrides: dict[int, dict[str, str]] = {}
        self._stopping = threading.Event()
        self._watcher: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def env(self) -> dict[str, str]:
        env = dict(os.environ)
        env.update(
            {
                "KAFKA_BOOTSTRAP_SERVERS": self.kafka_bootstrap,
                "DATABASE_URL": self.database_url,
                "UNSTUCK_TOPIC_PREFIX": self.prefix,
                "UNSTUCK_PORT": str(self.port),
                "UNSTUCK_PROCESSOR_ID": f"{self.prefix}processor",
                "UNSTUCK_RECORDS_SINK_GROUP": f"{self.prefix}sink-records",
                "UNSTUCK_WEBHOOKS_SINK_GROUP": f"{self.prefix}sink-webhooks",
                "UNSTUCK_WEBHOOK_ALLOW_LOOPBACK": "true",
                "UNSTUCK_WEBHOOK_BACKOFF_BASE_S": "0.2",
                "UNSTUCK_WEBHOOK_BACKOFF_CAP_S": "1",
                "UNSTUCK_SINK_BATCH_MAX_WAIT_MS": "200",
                "UNSTUCK_LOG_LEVEL": "INFO",
                # Tests that expect a 200 with the qualification must not turn into
                # a 202 because a loaded two-core CI machine took over 2 s to reply.
                "UNSTUCK_REPLY_TIMEOUT_SECONDS": "5",
            }
        )
        env.update(self.extra_env)
        return env

    def operator_env(
        self, data_dir: Path | None = None, api_key: str | None = None
    ) -> dict[str, str]:
        """The environment of an ``unstuck`` verb run against this pipeline, kept
        from any ``dev.env`` by a data dir of its own."""
        env = {
            **os.environ,
            "KAFKA_BOOTSTRAP_SERVERS": self.kafka_bootstrap,
            "DATABASE_URL": self.database_url,
            "UNSTUCK_TOPIC_PREFIX": self.prefix,
            "UNSTUCK_URL": self.url,
            "UNSTUCK_DATA_DIR": str(data_dir or self.log_dir / "no-dev-env"),
        }
        if api_key is not None:
            env["UNSTUCK_API_KEY"] = api_key
        return env

    def start(
        self, name: str, env: dict[str, str] | None = None
    ) -> subprocess.Popen[bytes]:
        """Start one more process of a service; ``env`` overrides (another port)."""
        with self._lock:
            process = self._spawn(name, env or {})
            self.processes.setdefault(name, []).append(process)
        if self._watcher is None:
            self._watcher = threading.Thread(
                target=self._restart_on_request, name="restarts", daemon=True
            )
            self._watcher.start()
        return process

    def _spawn(self, name: str, env: dict[str, str]) -> subprocess.Popen[bytes]:
        self.log_dir.mkdir(parents=True, exist_ok=True)
        number = len(self.processes.get(name, []))
        number += sum(1 for ended, _ in self.ended if ended == name)
        log = (self.log_dir / f"{name}-{number}.log").open("ab")
        process = subprocess.Popen(
            [sys.executable, "-m", SERVICES[name]],
            env={**self.env(), **env},
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()
        self._overrides[process.pid] = env
        return process

    def _restart_on_request(self) -> None:
        """Start again, with the same settings, a processor that asked for it."""
        while not self._stopping.wait(0.2):
            with self._lock:
                running = self.processes.get("processor", [])
                for index, process in enumerate(running):
                    status = process.poll()
                    if status not in RESTART_EXITS:
                        continue
                    env = self._overrides.pop(process.pid, {})
                    running[index] = self._spawn("processor", env)
                    self.ended.append(("processor", process))
                    self.restarts.append(("processor", int(status)))

    def log_tails(self, characters: int = 4000) -> dict[str, str]:
        """The end of every process's log, so a failed test shows why on CI,
        where the log directory is gone once the run ends."""
        return {
            path.name: path.read_text(errors="replace")[-characters:]
            for path in sorted(self.log_dir.glob("*.log"))
        }

    def start_all(self, timeout: float = 120.0) -> None:
        self.port = self.port or pick_port(0)
        for name in SERVICES:
            self.start(name)
        self.wait_ready(timeout)

    def wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self._fail_if_dead()
            try:
                with urllib.request.urlopen(f"{self.url}/readyz", timeout=2) as answer:
                    if answer.status == 200:
                        return
            except (urllib.error.URLError, OSError):
                pass
            time.sleep(0.3)
        raise TimeoutError(f"gateway not ready in {timeout}s; logs in {self.log_dir}")

    def _fail_if_dead(self) -> None:
        for name, processes in self.processes.items():
            for process in processes:
                if process.poll() is not None:
                    log = self.log_dir / f"{name}-0.log"
                    tail = (
                        log.read_text(errors="replace")[-3000:] if log.exists() else ""
                    )
                    raise RuntimeError(f"{name} exited {process.returncode}:\n{tail}")

    def end(
        self,
        name: str,
        signum: int = signal.SIGKILL,
        index: int = 0,
        grace: float = 30.0,
    ) -> int | None:
        """Send ``signum`` to one process of a service, wait for it and forget it.

        Returns its exit status, or None when it outlived ``grace`` and was killed.
        """
        with self._lock:
            process = self.processes[name].pop(index)
            self.ended.append((name, process))
        process.send_signal(signum)
        try:
            return process.wait(grace)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
            return None

    def stop_all(self, grace: float = 20.0) -> None:
        self._stopping.set()
        if self._watcher is not None:
            self._watcher.join(timeout=5)
        for processes in self.processes.values():
            for process in processes:
                if process.poll() is None:
                    process.send_signal(signal.SIGTERM)
        for processes in self.processes.values():
            for process in processes:
                try:
                    process.wait(grace)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
