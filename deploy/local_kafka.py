"""A real single-node Apache Kafka broker (KRaft) started from Python.

Development and the integration tests need a genuine broker, and this machine has no
Docker. Maven resolves the broker's jars from Maven Central once into a cache; each
instance then renders its own ``server.properties`` into a data directory and runs
``kafka.Kafka`` in a child JVM bound to loopback only.
"""

from __future__ import annotations

import base64
import contextlib
import fcntl
import hashlib
import os
import shutil
import socket
import string
import subprocess
import time
import uuid
from pathlib import Path
from types import TracebackType
from typing import IO, Final, Self

import structlog
from confluent_kafka import KafkaError, KafkaException
from confluent_kafka.admin import AdminClient
from confluent_kafka.cimpl import NewTopic

KAFKA_VERSION: Final = "4.4.0"

KAFKA_DEPLOY_DIR: Final = Path(__file__).resolve().parent / "kafka"
POM_PATH: Final = KAFKA_DEPLOY_DIR / "pom.xml"
SERVER_TEMPLATE_PATH: Final = KAFKA_DEPLOY_DIR / "server.properties"
LOG4J_CONFIG_PATH: Final = KAFKA_DEPLOY_DIR / "log4j2.yaml"

# Written last by ensure_jars; a cache without it is a download that was cut short.
_MARKER_NAME: Final = ".complete"
_PROBE_TOPIC: Final = "__unstuck_probe"
_LOG_TAIL_LINES: Final = 40

_log = structlog.get_logger(__name__)


class LocalKafkaError(RuntimeError):
    """The local broker could not be provisioned, started or reached."""


def default_libs_dir() -> Path:
    """Where the broker jars are cached, shared by every checkout on the machine.

    ``$UNSTUCK_CACHE_DIR`` replaces ``~/.cache/unstuck`` so CI can point it at a
    directory it keeps between runs.
    """
    root = os.environ.get("UNSTUCK_CACHE_DIR")
    base = Path(root) if root else Path.home() / ".cache" / "unstuck"
    return base / f"kafka-{KAFKA_VERSION}" / "libs"


def pick_port(preferred: int = 0, *, avoid: frozenset[int] = frozenset()) -> int:
    """Return ``preferred`` when it can be bound on loopback, else a free port.

    SO_REUSEADDR mirrors how the JVM and PostgreSQL bind, so a port still in
    TIME_WAIT after a restart counts as free, as it is for them.
    """
    if preferred and preferred not in avoid and _can_bind(preferred):
        return preferred

    while True:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            sock.bind(("127.0.0.1", 0))
            port: int = sock.getsockname()[1]
        if port not in avoid:
            return port


def _can_bind(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _new_cluster_id() -> str:
    """A 22-character base64url id, the form Kafka's storage tool expects.

    Kafka itself never issues ids starting with a dash (they read as options on a
    command line), so neither do we.
    """
    while True:
        raw = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode("ascii")
        cluster_id = raw.rstrip("=")
        if not cluster_id.startswith("-"):
            return cluster_id


def _die_with_parent_prefix() -> list[str]:
    """A command prefix that makes Linux SIGTERM the broker when its parent dies.

    Without it a test run killed with SIGKILL leaves a 512 MB JVM behind. setpriv
    sets the signal and then execs Java, which keeps it; a ``preexec_fn`` would do
    the same but is unsafe once librdkafka threads exist in this process. The
    signal follows the spawning *thread*, so start the broker from a long-lived one.
    """
    setpriv = shutil.which("setpriv")
    return [setpriv, "--pdeathsig", "TERM"] if setpriv else []


def _java_executable() -> str:
    java_home = os.environ.get("JAVA_HOME")
    if java_home and (Path(java_home) / "bin" / "java").exists():
        return str(Path(java_home) / "bin" / "java")

    found = shutil.which("java")
    if found is None:
        raise LocalKafkaError("java not found: install a JDK 17+ or set JAVA_HOME")
    return found


def _tail(path: Path, lines: int = _LOG_TAIL_LINES) -> str:
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return "(no log written)"
    return "\n".join(text.splitlines()[-lines:]) or "(log is empty)"


class LocalKafka:
    """One single-node KRaft broker whose data lives in ``data_dir``.

    The same data directory can be stopped and started again (fault tests rely on
    it): storage is formatted only once, and the ports chosen at the first start are
    reused when still free so clients keep their bootstrap address.
    """

    def __init__(
        self,
        data_dir: Path | str,
        *,
        port: int = 9092,
        controller_port: int = 9093,
        heap_mb: int = 512,
        libs_dir: Path | None = None,
        startup_timeout: float = 90.0,
    ) -> None:
        self.data_dir = Path(data_dir).resolve()
        self.port = port
        self.controller_port = controller_port
        self.heap_mb = heap_mb
        self.libs_dir = libs_dir if libs_dir is not None else default_libs_dir()
        self.startup_timeout = startup_timeout
        self._process: subprocess.Popen[bytes] | None = None
        self._log_file: IO[bytes] | None = None

    @property
    def bootstrap_servers(self) -> str:
        """The address clients connect to, valid once ``start`` has returned."""
        return f"127.0.0.1:{self.port}"

    @property
    def log_path(self) -> Path:
        """The broker's combined stdout and stderr."""
        return self.data_dir / "kafka.log"

    @property
    def running(self) -> bool:
        """Whether the broker process is alive."""
        return self._process is not None and self._process.poll() is None

    def ensure_jars(self) -> Path:
        """Resolve the broker classpath with Maven unless a complete copy is cached.

        The marker records the pom's hash, so editing the pom (a version bump)
        resolves again, and a copy interrupted halfway is never used.
        """
        expected = hashlib.sha256(POM_PATH.read_bytes()).hexdigest()
        marker = self.libs_dir / _MARKER_NAME
        self.libs_dir.parent.mkdir(parents=True, exist_ok=True)

        with (self.libs_dir.parent / ".lock").open("w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            if marker.exists() and marker.read_text().strip() == expected:
                return self.libs_dir

            started = time.monotonic()
            shutil.rmtree(self.libs_dir, ignore_errors=True)
            self._run_maven()
            marker.write_text(expected + "\n")

        _log.info(
            "kafka_jars_resolved",
            libs_dir=str(self.libs_dir),
            seconds=round(time.monotonic() - started, 1),
        )
        return self.libs_dir

    def start(self) -> None:
        """Start the broker and return once it serves metadata and groups."""
        if self.running:
            return

        self.ensure_jars()
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.port = pick_port(self.port)
        self.controller_port = pick_port(
            self.controller_port, avoid=frozenset({self.port})
        )
        properties = self._render_properties()
        self._format_storage_once(properties)

        started = time.monotonic()
        self._spawn(properties)
        try:
            self._wait_ready(started + self.startup_timeout)
        except BaseException:
            self.stop()
            raise
        _log.info(
            "kafka_started",
            bootstrap=self.bootstrap_servers,
            seconds=round(time.monotonic() - started, 1),
        )

    def stop(self, timeout: float = 20.0) -> None:
        """Shut the broker down cleanly, killing it if it does not exit in time."""
        process, self._process = self._process, None
        if process is not None and process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout)
            except subprocess.TimeoutExpired:
                _log.warning("kafka_stop_timeout", pid=process.pid, timeout=timeout)
                process.kill()
                process.wait()

        if self._log_file is not None:
            self._log_file.close()
            self._log_file = None

    def kill(self) -> None:
        """End the broker with SIGKILL, as a crash would; ``start`` recovers it.

        The next start takes a few seconds longer than after ``stop``: the
        controller accepts the new broker only once the crashed one's session
        (``broker.session.timeout.ms``) has expired.
        """
        if self._process is not None and self._process.poll() is None:
            self._process.kill()
            self._process.wait()
        self.stop()

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def _run_maven(self) -> None:
        mvn = shutil.which("mvn")
        if mvn is None:
            raise LocalKafkaError(
                "mvn not found: install Maven to fetch the Kafka jars"
            )

        command = [
            mvn,
            "-q",
            "-B",
            "-f",
            str(POM_PATH),
            "dependency:copy-dependencies",
            f"-DoutputDirectory={self.libs_dir}",
            "-DincludeScope=runtime",
        ]
        result = subprocess.run(
            command, capture_output=True, text=True, timeout=900, check=False
        )
        if result.returncode != 0:
            output = (result.stdout + result.stderr)[-4000:]
            raise LocalKafkaError(f"Maven could not resolve the Kafka jars:\n{output}")

    def _render_properties(self) -> Path:
        template = string.Template(SERVER_TEMPLATE_PATH.read_text())
        rendered = template.substitute(
            port=self.port,
            controller_port=self.controller_port,
            log_dir=self.data_dir / "log",
        )
        path = self.data_dir / "server.properties"
        path.write_text(rendered)
        return path

    def _classpath(self) -> str:
        return str(self.libs_dir / "*")

    def _format_storage_once(self, properties: Path) -> None:
        """Format the log directory on first use only; formatting wipes identity."""
        if (self.data_dir / "log" / "meta.properties").exists():
            return

        command = [
            _java_executable(),
            "-Xmx256m",
            # A one-shot tool: the quick compiler alone finishes it about a second
            # sooner on two cores than tiered compilation does.
            "-XX:TieredStopAtLevel=1",
            f"-Dlog4j2.configurationFile={LOG4J_CONFIG_PATH}",
            "-cp",
            self._classpath(),
            "kafka.tools.StorageTool",
            "format",
            "-t",
            _new_cluster_id(),
            "-c",
            str(properties),
        ]
        result = subprocess.run(
            command, capture_output=True, text=True, timeout=120, check=False
        )
        if result.returncode != 0:
            output = (result.stdout + result.stderr)[-4000:]
            raise LocalKafkaError(f"kafka storage format failed:\n{output}")

    def _spawn(self, properties: Path) -> None:
        command = [
            *_die_with_parent_prefix(),
            _java_executable(),
            "-Xms128m",
            f"-Xmx{self.heap_mb}m",
            "-XX:+ExitOnOutOfMemoryError",
            "-Djava.awt.headless=true",
            f"-Dlog4j2.configurationFile={LOG4J_CONFIG_PATH}",
            "-cp",
            self._classpath(),
            "kafka.Kafka",
            str(properties),
        ]
        self._log_file = self.log_path.open("ab")
        self._process = subprocess.Popen(
            command,
            cwd=self.data_dir,
            stdin=subprocess.DEVNULL,
            stdout=self._log_file,
            stderr=subprocess.STDOUT,
        )

    def _wait_ready(self, deadline: float) -> None:
        """Wait for a metadata round-trip, a topic creation and a group lookup.

        A listening socket is not enough: right after start the controller may not
        have elected itself, and the group coordinator answers "load in progress"
        until its offsets partitions are loaded.
        """
        self._wait_listening(deadline)
        admin = AdminClient({"bootstrap.servers": self.bootstrap_servers})
        last_error = "none"

        while time.monotonic() < deadline:
            self._check_alive()
            problem = self._probe(admin)
            if problem is None:
                return
            last_error = problem
            time.sleep(0.25)

        raise LocalKafkaError(
            f"Kafka at {self.bootstrap_servers} not ready within "
            f"{self.startup_timeout:.0f}s (last error: {last_error}); "
            f"log tail of {self.log_path}:\n{_tail(self.log_path)}"
        )

    def _wait_listening(self, deadline: float) -> None:
        while time.monotonic() < deadline:
            self._check_alive()
            with contextlib.suppress(OSError):
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return
            time.sleep(0.1)

        raise LocalKafkaError(
            f"Kafka did not open port {self.port} within "
            f"{self.startup_timeout:.0f}s; log tail of {self.log_path}:\n"
            f"{_tail(self.log_path)}"
        )

    def _check_alive(self) -> None:
        if self._process is not None and self._process.poll() is None:
            return

        code = None if self._process is None else self._process.returncode
        raise LocalKafkaError(
            f"Kafka exited during startup (exit code {code}); "
            f"log tail of {self.log_path}:\n{_tail(self.log_path)}"
        )

    @staticmethod
    def _probe(admin: AdminClient) -> str | None:
        """Return why the broker is not usable yet, or None when it is.

        Errors are read with ``Future.exception()`` rather than raised from
        ``result()``: a raised error stored in its future would keep this frame, and
        so the client, alive in a reference cycle after startup.
        """
        try:
            admin.list_topics(timeout=2)
        except KafkaException as err:
            return str(err)

        created = admin.create_topics(
            [NewTopic(_PROBE_TOPIC, num_partitions=1, replication_factor=1)],
            operation_timeout=5,
            request_timeout=5,
        )[_PROBE_TOPIC].exception(timeout=10)
        if isinstance(created, KafkaException):
            if created.args[0].code() != KafkaError.TOPIC_ALREADY_EXISTS:
                return str(created)
        elif created is not None:
            return str(created)

        groups = admin.describe_consumer_groups([_PROBE_TOPIC], request_timeout=5)
        described = groups[_PROBE_TOPIC].exception(timeout=10)
        return None if described is None else str(described)
