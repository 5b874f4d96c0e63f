"""Run one processor worker (``unstuck processor``)."""

from __future__ import annotations

import sys

from schemas.observability import configure_logging


def main() -> None:
    """Start a Faust worker for the app, logging as every other service does."""
    configure_logging("processor")
    from stream_processors import metrics
    from stream_processors.app import app, settings

    metrics.serve(settings.metrics_port, settings.metrics_host)
    sys.argv = [sys.argv[0], "worker", "--loglevel", "warn", "--without-web"]
    app.main()


if __name__ == "__main__":
    main()
