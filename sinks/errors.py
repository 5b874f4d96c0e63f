"""The sinks' exceptions: one root, foreign errors translated at the boundary."""

from __future__ import annotations


class SinkError(RuntimeError):
    """Root of every error raised by the sink workers."""


class DeadLetterError(SinkError):
    """A dead letter was not acknowledged, so the source offset must not move."""


class MigrationError(SinkError):
    """A migration file failed; the database keeps the previous version."""


class DestinationRefusedError(SinkError):
    """A webhook URL points where deliveries must not go."""

    def __init__(self, url: str, reason: str) -> None:
        super().__init__(f"{reason}: {url}")
        self.reason = reason
