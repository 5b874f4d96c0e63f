"""Sink settings come from the documented environment variables."""

from __future__ import annotations

import pytest

from sinks.settings import SinkSettings


def test_environment_names_are_read(monkeypatch: pytest.MonkeyPatch) -> None:
    """Operators configure the sinks with the documented variable names."""
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", "kafka:9092")
    monkeypatch.setenv("DATABASE_URL", "postgresql://db/unstuck")
    monkeypatch.setenv("UNSTUCK_TOPIC_PREFIX", "staging.")
    monkeypatch.setenv("UNSTUCK_RECORDS_SINK_GROUP", "records-blue")
    monkeypatch.setenv("UNSTUCK_WEBHOOK_ALLOW_LOOPBACK", "true")

    settings = SinkSettings()

    assert settings.kafka_bootstrap_servers == "kafka:9092"
    assert settings.database_url == "postgresql://db/unstuck"
    assert settings.topic_prefix == "staging."
    assert settings.records_group == "records-blue"
    assert settings.webhook_allow_loopback is True
    assert settings.webhook_allow_private is False
    assert settings.webhook_max_attempts == 16
