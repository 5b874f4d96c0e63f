"""Structured logging set up the same way in every service.

One JSON line per event with stable event names, so operators can filter by
workspace, capture id, topic, partition and offset across services.
"""

from __future__ import annotations

import logging
import os
import sys

import structlog


def configure_logging(service: str) -> None:
    """Route structlog and the standard library's logging to JSON on stderr."""
    level_name = os.environ.get("UNSTUCK_LOG_LEVEL", "INFO").upper()
    level = logging.getLevelNamesMapping().get(level_name, logging.INFO)
    logging.basicConfig(stream=sys.stderr, level=level, format="%(message)s")

    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.format_exc_info,
            structlog.processors.JSONRenderer(),
        ],
        wrapper_class=structlog.make_filtering_bound_logger(level),
        logger_factory=structlog.PrintLoggerFactory(file=sys.stderr),
        cache_logger_on_first_use=True,
    )
    structlog.contextvars.bind_contextvars(service=service)


def redact_email(email: str | None) -> str | None:
    """Keep the domain and the first letter: enough to debug, not to identify."""
    if not email or "@" not in email:
        return None
    local, _, domain = email.rpartition("@")
    return f"{local[:1]}***@{domain}"
