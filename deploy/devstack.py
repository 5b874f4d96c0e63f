"""``unstuck dev``: the whole pipeline on one machine, on real Kafka and PostgreSQL."""

from __future__ import annotations

import fcntl
import os
import signal
import time
import urllib.error
import urllib.request
from contextlib import ExitStack
from pathlib import Path

import structlog

from deploy.environment import ENV_FILE, read_env_file, write_env_file
from deploy.local_kafka import LocalKafka, pick_port
from deploy.local_postgres import LocalPostgres
from deploy.supervisor import Child, Supervisor, child_env, service_argv
from schemas.topic_setup import ensure_topics
from schemas.workspace import WorkspaceDirectory, new_workspace, publish_workspace
from sinks.records.migrate import migrate

log = structlog.get_logger("dev")

DEV_WORKSPACE = "dev"
# The dev workspace is for trying feeds on one's own machine, where the production
# default (500 a minute) would turn a 10,000-row `unstuck send` into 20 minutes of
# 429s. Workspaces made with `unstuck workspace create` keep the defaults.
DEV_LIMIT_PER_MINUTE = 100_000
DEV_LIMIT_PER_DAY = 10_000_000
READY_TIMEOUT = 120.0
LOCK_FILE = "dev.lock"


def start_kafka(stack: ExitStack, data_dir: Path, previous: dict[str, str]) -> str:
    """The broker named by the environment, else a local one in ``data_dir``."""
    external = os.environ.get("KAFKA_BOOTSTRAP_SERVERS")
    if external:
        return external

    preferred = _port_of(previous.get("KAFKA_BOOTSTRAP_SERVERS"), 9092)
    kafka = LocalKafka(data_dir / "kafka", port=pick_port(preferred))
    print(f"starting Kafka from Maven jars in {kafka.data_dir} ...", flush=True)
    kafka.start()
    stack.callback(kafka.stop)
    return kafka.bootstrap_servers


def start_postgres(stack: ExitStack, data_dir: Path, previous: dict[str, str]) -> str:
    """The database named by the environment, else embedded PostgreSQL."""
    external = os.environ.get("DATABASE_URL")
    if external:
        return external

    preferred = _port_of(previous.get("DATABASE_URL"), 5432)
    postgres = LocalPostgres(data_dir / "postgres", port=pick_port(preferred))
    postgres.start()
    stack.callback(postgres.stop)
    return postgres.url


def ensure_dev_workspace(bootstrap: str, previous_key: str | None) -> str:
    """The dev workspace's key: the one from the last run, or a new workspace."""
    directory = WorkspaceDirectory(bootstrap)
    directory.start()
    try:
        directory.wait_ready(60)
        if previous_key and directory.by_api_key(previous_key) is not None:
            return previous_key
    finally:
        directory.stop()

    config, api_key = new_workspace(DEV_WORKSPACE)
    config["rate_limit_per_minute"] = DEV_LIMIT_PER_MINUTE
    config["rate_limit_per_day"] = DEV_LIMIT_PER_DAY
    publish_workspace(bootstrap, "", config)
    return api_key


def children(data_dir: Path) -> list[Child]:
    logs = data_dir / "logs"
    return [
        Child("gateway", service_argv("ingest_gateway"), logs / "gateway.log"),
        Child(
            "processor",
            service_argv("stream_processors"),
            logs / "processor.log",
            # Faust's state lives with the stack's other data, not in a folder
            # every stack on the machine would share.
            env={"UNSTUCK_DATA_DIR": str(data_dir.resolve() / "processor")},
        ),
        Child("sink-records", service_argv("sinks.records"), logs / "sink-records.log"),
        Child(
            "sink-webhooks", service_argv("sinks.webhooks"), logs / "sink-webhooks.log"
        ),
        Child(
            "sink-audiences",
            service_argv("sinks.audiences"),
            logs / "sink-audiences.log",
        ),
    ]


def wait_until_ready(url: str, supervisor: Supervisor, timeout: float) -> None:
    """Poll the gateway's readiness, failing early if a child keeps dying."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{url}/readyz", timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass
        supervisor.watch_once()
        time.sleep(0.5)
    raise SystemExit(f"the gateway was not ready within {timeout:.0f}s; see logs")


def hold_data_dir(stack: ExitStack, data_dir: Path) -> None:
    """Refuse a second ``unstuck dev`` on the same folder while one runs.

    Two brokers on one log directory corrupt the metadata log, and the second
    run would rewrite the first one's ports in ``dev.env``. The lock is the
    kernel's, so it goes away with the process however it ends.
    """
    lock = stack.enter_context((data_dir / LOCK_FILE).open("a+", encoding="utf-8"))
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        lock.seek(0)
        holder = lock.read().strip() or "unknown"
        raise SystemExit(
            f"unstuck dev is already running on {data_dir} (pid {holder}); "
            "stop it first, or pass another --data-dir"
        ) from None

    lock.seek(0)
    lock.truncate()
    lock.write(str(os.getpid()))
    lock.flush()


def run_dev(data_dir: Path, port: int) -> None:
    """Start everything, print how to reach it, and supervise until interrupted."""
    started = time.monotonic()
    data_dir.mkdir(parents=True, exist_ok=True)
    env_path = data_dir / ENV_FILE

    with ExitStack() as stack:
        hold_data_dir(stack, data_dir)
        previous = read_env_file(env_path)
        bootstrap = start_kafka(stack, data_dir, previous)
        database_url = start_postgres(stack, data_dir, previous)
        ensure_topics(bootstrap)
        migrate(database_url)
        api_key = ensure_dev_workspace(bootstrap, previous.get("UNSTUCK_API_KEY"))

        gateway_port = pick_port(port)
        url = f"http://127.0.0.1:{gateway_port}"
        settings = {
            "UNSTUCK_URL": url,
            "UNSTUCK_API_KEY": api_key,
            "KAFKA_BOOTSTRAP_SERVERS": bootstrap,
            "DATABASE_URL": database_url,
        }
        write_env_file(env_path, settings)

        supervisor = Supervisor(
            children(data_dir),
            child_env(
                {
                    **settings,
                    "UNSTUCK_PORT": str(gateway_port),
                    # The dev receiver usually runs on this machine.
                    "UNSTUCK_WEBHOOK_ALLOW_LOOPBACK": "true",
                }
            ),
        )
        stack.callback(supervisor.stop_all)
        signal.signal(signal.SIGTERM, supervisor.request_stop)
        signal.signal(signal.SIGINT, supervisor.request_stop)
        supervisor.start_all()
        wait_until_ready(url, supervisor, READY_TIMEOUT)

        print(f"\nUnstuck is ready in {time.monotonic() - started:.1f}s", flush=True)
        for name, value in settings.items():
            print(f"{name}={value}", flush=True)
        print(f"(written to {env_path}; logs in {data_dir / 'logs'})", flush=True)
        print("Ctrl-C stops everything.", flush=True)
        supervisor.watch()
        print("stopping ...", flush=True)


def _port_of(address: str | None, default: int) -> int:
    if not address:
        return default
    tail = address.rsplit(":", 1)[-1].split("/", 1)[0]
    return int(tail) if tail.isdigit() else default
