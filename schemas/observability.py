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

from schemas.workspace import API_KEY_PREFIX, WEBHOOK_SECRET_PREFIX


def configure_logging(service: str) -> None:
    """Route structlog and the standard library's logging to JSON on stderr."""
    level_name = os.environ.get("UNSTUCK_LOG_LEVEL", "INFO").upper()
    level = logging.getLevelNamesMapping().get(level_name, logging.INFO)
    logging.basicConfig(stream=sys.stderr, level=level, format="%(message)s")
    for handler in logging.getLogger().handlers:
        handler.addFilter(ScrubRecords())

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
# API keys and webhook secrets by their prefixes: whatever follows one is secret.
_PREFIXES: Final = (API_KEY_PREFIX, WEBHOOK_SECRET_PREFIX)
_SECRET: Final = re.compile(rf"\b({'|'.join(_PREFIXES)})[\w+/=-]+")


def scrub(text: str) -> str:
    """``text`` with every email address redacted and every key or secret cut.

    An address keeps its first letter and its domain: enough to debug, not to
    identify.
    """
    if "@" in text:
        text = _EMAIL.sub(r"\1***@\2", text)
    if any(prefix in text for prefix in _PREFIXES):
        text = _SECRET.sub(r"\1***", text)
    return text


def scrub_event(_logger: object, _method: str, event: EventDict) -> EventDict:
    """Last step before rendering: no string field carries an address or a key.

    Call sites log ids, not identities; this catches what they cannot see, such as
    the text of a foreign exception or a traceback that quotes a row. Values
    nested in lists or dicts are not looked into.
    """
    for name, value in event.items():
        if isinstance(value, str):
            event[name] = scrub(value)
    return event


class ScrubRecords(logging.Filter):
    """The same scrubbing for the standard library's records (Faust, aiokafka,
    psycopg), which never pass through structlog's processors."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = scrub(record.getMessage())
        record.args = None
        return True
