"""The materialized workspace directory against the real config topic."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from schemas.workspace import WorkspaceDirectory, new_workspace, publish_workspace


@pytest.fixture
def directory(kafka_bootstrap: str, topic_prefix: str) -> Iterator[WorkspaceDirectory]:
    view = WorkspaceDirectory(kafka_bootstrap, topic_prefix)
    view.start()
    view.wait_ready(60)
    yield view
    view.stop()


def test_catch_up_sees_a_workspace_written_just_before(
    directory: WorkspaceDirectory, kafka_bootstrap: str, topic_prefix: str
) -> None:
    """After catch_up, a record acknowledged before the call is always visible."""
    config, api_key = new_workspace("fresh")

    publish_workspace(kafka_bootstrap, topic_prefix, config)
    caught_up = directory.catch_up(30)

    assert caught_up
    assert directory.get(config["workspace_id"]) is not None
    assert directory.by_api_key(api_key) is not None


def test_unknown_key_stays_unknown(directory: WorkspaceDirectory) -> None:
    """A key nobody issued finds no workspace, even after catching up."""
    directory.catch_up(30)

    assert directory.by_api_key("usk_not-issued") is None
