"""A private Kafka broker, PostgreSQL server and pipeline for the fault scenarios.

The scenarios stop the broker and the database, so they never touch the session's
servers: this stack is started once for the fault suite and each scenario gets a
fresh workspace on it. Before each scenario any service left without a live
process is started again, so one failure does not cascade into the next scenario.
"""

from __future__ import annotations

import os
import time
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from confluent_kafka.admin import AdminClient

from deploy.local_kafka import LocalKafka, LocalKafkaError
from deploy.local_postgres import LocalPostgres
from schemas.topic_setup import ensure_topics
from schemas.workspace import new_webhook_secret, new_workspace, publish_workspace
from sinks.records.migrate import migrate
from tests.faults.audit import Tally, stored_rows, tally
from tests.faults.driver import PROBE_DOMAIN, LoadDriver, signal_body
from tests.faults.receiver import FaultReceiver
from tests.faults.report import write_report
from tests.integration.pipeline.processes import SERVICES, Pipeline
from tests.integration.waiting import wait_for

# UNSTUCK_FAULTS_LONG=1 runs every scenario with ten times the signals.
LONG = os.environ.get("UNSTUCK_FAULTS_LONG") == "1"
SIGNALS = 3000 if LONG else 300
RATE = 200.0 if LONG else 60.0

SCENARIO_ORDER = [
    "kill -9 processor",
    "kill -9 records sink",
    "kill -9 webhook sink",
    "kill -9 gateway",
    "Kafka broker restart",
    "PostgreSQL restart",
    "webhook receiver failing then hanging",
    "SIGTERM every component",
    "rebalance: processor added then removed",
    "B08 rebalance before commit",
    "B29 webhook storm on one endpoint",
]

_TALLIES: list[Tally] = []

# Short enough that a SIGKILLed processor's partitions move within seconds; long
# enough that a loaded 2-core machine does not expel a live worker.
FAULT_ENV = {
    "UNSTUCK_SESSION_TIMEOUT_SECONDS": "10",
    "UNSTUCK_WEBHOOK_TIMEOUT_S": "1",
    # The production retry window is hours; the outages here last seconds, so
    # the attempts must outlast them at the tests' short backoff.
    "UNSTUCK_WEBHOOK_MAX_ATTEMPTS": "1000",
    "UNSTUCK_SINK_DB_RETRY_CAP_S": "2",
}


@dataclass
class Stack:
    """The fault suite's own broker, database and pipeline processes."""

    kafka: LocalKafka
    postgres: LocalPostgres
    pipeline: Pipeline
    receiver: FaultReceiver
    scratch: Path

    def revive(self, timeout: float = 120.0) -> None:
        """Start a process for every service that has none alive, then wait ready."""
        if not self.kafka.running:
            self.kafka.start()
        if not self.postgres.running:
            self.postgres.start()
        for name in SERVICES:
            processes = self.pipeline.processes.get(name, [])
            for process in [p for p in processes if p.poll() is not None]:
                processes.remove(process)
                self.pipeline.ended.append((name, process))
            if not processes:
                self.start(name)
        self.pipeline.wait_ready(timeout)

    def start(self, name: str, **env: str) -> None:
        """One more process of a service, with a data directory of its own."""
        data_dir = self.scratch / f"{name}-{uuid.uuid4().hex[:6]}"
        data_dir.mkdir(parents=True)
        self.pipeline.start(name, {"UNSTUCK_DATA_DIR": str(data_dir), **env})

    def processor_members(self) -> int:
        """Members of the processor's consumer group, as the broker sees them."""
        admin = AdminClient({"bootstrap.servers": self.kafka.bootstrap_servers})
        prefix = self.pipeline.prefix
        group = f"{prefix}{prefix}processor"
        described = admin.describe_consumer_groups([group], request_timeout=10)
        return len(described[group].result(timeout=15).members)

    def dead(self) -> list[str]:
        """Services with a process that exited without being asked to."""
        return [
            f"{name} exited {p.returncode}"
            for name, processes in self.pipeline.processes.items()
            for p in processes
            if p.poll() is not None
        ]


_SHARED: list[Stack] = []


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """Kafka, PostgreSQL, topics, migrations and the four services, all private.

    Built once per session and shared with tests/security, which imports this
    fixture; the teardown is idempotent since both directories finalize it.
    """
    if not _SHARED:
        _SHARED.append(_build_stack(tmp_path_factory.mktemp("faults")))
    built = _SHARED[0]

    yield built

    built.pipeline.stop_all()
    built.receiver.stop()
    built.postgres.stop()
    built.kafka.stop()


def _build_stack(root: Path) -> Stack:
    kafka = _start_kafka(root)
    postgres = LocalPostgres(root / "postgres")
    receiver = FaultReceiver()
    postgres.start()
    receiver.start()

    prefix = f"f{uuid.uuid4().hex[:8]}."
    ensure_topics(kafka.bootstrap_servers, prefix)
    migrate(postgres.url)
    pipeline = Pipeline(
        kafka.bootstrap_servers, postgres.url, prefix, root / "logs", dict(FAULT_ENV)
    )
    built = Stack(kafka, postgres, pipeline, receiver, root / "data")
    pipeline.port = pipeline.port or _free_port()
    for name in SERVICES:
        built.start(name)
    pipeline.wait_ready(180)
    return built


def _start_kafka(root: Path, attempts: int = 3) -> LocalKafka:
    """Start the private broker, again on fresh ports if one was taken meanwhile.

    A port found free can be bound by another process before the JVM binds it;
    on a machine shared by several test sessions that happens.
    """
    for attempt in range(attempts):
        kafka = LocalKafka(root / f"kafka-{attempt}", port=0, controller_port=0)
        try:
            kafka.start()
        except LocalKafkaError:
            if attempt == attempts - 1:
                raise
            continue
        return kafka
    raise AssertionError("unreachable")


def _free_port() -> int:
    from deploy.local_kafka import pick_port

    return pick_port(0)


@dataclass
class Tenant:
    """A workspace of the fault stack whose webhook goes to ``receiver.url(tag)``."""

    stack: Stack
    workspace_id: str
    api_key: str
    tag: str

    def driver(self, total: int = SIGNALS, rate: float = RATE) -> LoadDriver:
        """A load driver for this workspace's distinct signals."""
        return LoadDriver(self.stack.pipeline.url, self.api_key, self.tag, total, rate)

    def settle_and_tally(self, scenario: str, driver: LoadDriver) -> Tally:
        """Wait for every 2xx to be stored and announced, count, and record the row."""
        from tests.faults.audit import wait_complete

        pipeline = self.stack.pipeline
        accepted = len(driver.accepted())
        wait_complete(
            pipeline.database_url,
            self.workspace_id,
            self.stack.receiver,
            self.tag,
            accepted + 1,
        )
        result = tally(
            scenario,
            driver,
            bootstrap=pipeline.kafka_bootstrap,
            prefix=pipeline.prefix,
            database_url=pipeline.database_url,
            workspace_id=self.workspace_id,
            receiver=self.stack.receiver,
        )
        _TALLIES.append(result)
        return result


@pytest.fixture
def tenant(stack: Stack) -> Tenant:
    """A fresh workspace, known to every service before the scenario starts."""
    return make_tenant(stack)


def make_tenant(stack: Stack) -> Tenant:
    """A fresh workspace with a high rate limit and a webhook to the receiver.

    The probe signal proves the processor and both sinks have read the workspace:
    a signal racing ahead of the configuration would be dead-lettered.
    """
    stack.revive()
    tag = f"w{uuid.uuid4().hex[:8]}"
    config, api_key = new_workspace(tag)
    config["rate_limit_per_minute"] = 1_000_000
    config["rate_limit_per_day"] = 100_000_000
    secret = new_webhook_secret()
    stack.receiver.secrets[tag] = secret
    config["webhook"] = {
        "url": stack.receiver.url(tag),
        "secrets": [secret],
        "enabled": True,
    }
    pipeline = stack.pipeline
    publish_workspace(pipeline.kafka_bootstrap, pipeline.prefix, config)
    created = Tenant(stack, config["workspace_id"], api_key, tag)
    wait_for(lambda: _probe(created), timeout=60, every=1.0)
    wait_for(lambda: stored_rows(pipeline.database_url, created.workspace_id), 60)
    return created


def _probe(tenant: Tenant) -> bool:
    """POST the probe signal; True once the gateway accepted it."""
    import json

    tenant.stack.pipeline._fail_if_dead()

    body = signal_body(tenant.tag, -1, domain=PROBE_DOMAIN)
    request = urllib.request.Request(
        f"{tenant.stack.pipeline.url}/signals",
        data=json.dumps(body).encode(),
        headers={
            "Authorization": f"Bearer {tenant.api_key}",
            "Content-Type": "application/json",
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            return bool(answer.status in (200, 202))
    except OSError:
        time.sleep(0.5)
        return False


@pytest.fixture
def faults_report() -> Callable[[], list[Tally]]:
    """The rows recorded so far in this session."""
    return lambda: list(_TALLIES)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Merge this session's rows into docs/reliability.md."""
    if _TALLIES:
        write_report(_TALLIES, SCENARIO_ORDER)
