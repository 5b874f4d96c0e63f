"""Run one processor worker (``unstuck processor``)."""

from __future__ import annotations

import sys

import structlog

from schemas.observability import configure_logging
from schemas.topic_setup import TopicSetupError
from stream_processors.exits import CHANGELOGS_UNUSABLE_EXIT


def main() -> None:
    """Start a Faust worker for the app, logging as every other service does.

    The tables' changelog topics are created first, before Faust subscribes to
    them (``stream_processors.changelogs`` says why).
    """
    configure_logging("processor")
    from stream_processors import metrics
    from stream_processors.app import app, load_configuration, settings
    from stream_processors.changelogs import create_changelogs

    try:
        create_changelogs(app, settings.kafka_bootstrap_servers)
    except TopicSetupError as error:
        structlog.get_logger("processor").critical(
            "processor.changelog_unusable", error=str(error)
        )
        sys.exit(CHANGELOGS_UNUSABLE_EXIT)

    load_configuration()
    metrics.serve(settings.metrics_port, settings.metrics_host)
    sys.argv = [sys.argv[0], "worker", "--loglevel", "warn", "--without-web"]
    app.main()


if __name__ == "__main__":
    main()
