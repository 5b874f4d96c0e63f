"""Fixtures that run the whole pipeline as real processes, once per session."""

from __future__ import annotations

import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from schemas.topic_setup import ensure_topics
from schemas.workspace import new_webhook_secret, new_workspace, publish_workspace
from sinks.records.migrate import migrate
from tests.integration.pipeline.processes import Pipeline
from tests.integration.receiver import WebhookReceiver


@pytest.fixture(scope="session")
def pipeline(
    kafka_bootstrap: str, database_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Pipeline]:
    """Gateway, processor and both sinks on a topic prefix of their own."""
    prefix = f"e2e{uuid.uuid4().hex[:8]}."
    ensure_topics(kafka_bootstrap, prefix)
    migrate(database_url)

    running = Pipeline(
        kafka_bootstrap, database_url, prefix, tmp_path_factory.mktemp("pipeline-logs")
    )
    running.start_all()
    yield running
    running.stop_all()


@pytest.fixture(scope="session")
def receiver() -> Iterator[WebhookReceiver]:
    """A loopback webhook receiver shared by the session's workspaces."""
    server = WebhookReceiver()
    server.start()
    yield server
    server.stop()


class Workspace:
    """A fresh workspace of the running pipeline, with its key and secret."""

    def __init__(
        self, pipeline: Pipeline, config: dict[str, Any], api_key: str
    ) -> None:
        self.pipeline = pipeline
        self.config = config
        self.api_key = api_key

    @property
    def id(self) -> str:
        return str(self.config["workspace_id"])

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.api_key}"}

    @property
    def webhook_secret(self) -> str:
        return str(self.config["webhook"]["secrets"][0])

    def update(self, **changes: Any) -> None:
        self.config = {**self.config, **changes}
        publish_workspace(
            self.pipeline.kafka_bootstrap, self.pipeline.prefix, self.config
        )

    def wait_known(self, timeout: float = 30.0) -> None:
        """Wait until the gateway has read this workspace from the config topic."""
        url = f"{self.pipeline.url}/signals/00000000-0000-0000-0000-000000000000"
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            request = urllib.request.Request(url, headers=self.headers)
            try:
                urllib.request.urlopen(request, timeout=5)
            except urllib.error.HTTPError as error:
                if error.code != 401:
                    return
            time.sleep(0.2)
        raise TimeoutError("the gateway never saw the workspace")


@pytest.fixture
def workspace(pipeline: Pipeline, receiver: WebhookReceiver) -> Workspace:
    """A new workspace whose webhook points at the receiver."""
    config, api_key = new_workspace(f"test-{uuid.uuid4().hex[:8]}")
    config["webhook"] = {
        "url": receiver.url,
        "secrets": [new_webhook_secret()],
        "enabled": True,
    }
    publish_workspace(pipeline.kafka_bootstrap, pipeline.prefix, config)
    created = Workspace(pipeline, config, api_key)
    created.wait_known()
    return created
