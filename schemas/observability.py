"""Structured logging set up the same way in every service.

One JSON line per event with stable event names, so operators can filter by
workspace, capture id, topic, partition and offset across services.
"""

from __future__ import annotations

import logging
import os
import re
import sys
from typing import Final

import structlog
from structlog.typing import EventDict


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
            scrub_event,
            structlog.processors.JSONRenderer(),
        ],
        wrapper_class=structlog.make_filtering_bound_logger(level),
        logger_factory=structlog.PrintLoggerFactory(file=sys.stderr),
        cache_logger_on_first_use=True,
    )
    structlog.contextvars.bind_contextvars(service=service)


# An address inside free text: error messages from PostgreSQL or a client library
# can quote the value they choked on.
_EMAIL: Final = re.compile(r"([\w.%+-])[\w.%+-]*@([\w-]+(?:\.[\w-]+)+)")
# API keys and webhook secrets by their prefixes (schemas.workspace): whatever
# follows the prefix is the secret.
_SECRET: Final = re.compile(r"\b(usk_|whsec_)[\w+/=-]+")


def scrub(text: str) -> str:
    """``text`` with every email address redacted and every key or secret cut.

    An address keeps its first letter and its domain: enough to debug, not to
    identify.
    """
    if "@" in text:
        text = _EMAIL.sub(r"\1***@\2", text)
    if "usk_" in text or "whsec_" in text:
        text = _SECRET.sub(r"\1***", text)
    return text


def scrub_event(_logger: object, _method: str, event: EventDict) -> EventDict:
    """Last step before rendering: no log line carries an email address or a key.

    Call sites log ids, not identities; this catches what they cannot see, such as
    the text of a foreign exception or a traceback that quotes a row.
    """
    for name, value in event.items():
        if isinstance(value, str):
            event[name] = scrub(value)
    return event
