"""The audience agent's settings, read from the environment once at start."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from pydantic_settings import BaseSettings, SettingsConfigDict

from stream_processors.audiences.state import MAX_SIGNALS


class AudienceSettings(BaseSettings):
    """Knobs of the audience agent; each says why it exists."""

    model_config = SettingsConfigDict(env_prefix="UNSTUCK_AUDIENCE_", extra="ignore")

    # How often the timer looks for members whose windowed signals aged out; a
    # member leaves at most this late.
    tick_interval_seconds: float = 10.0
    # Signals kept per lead: the cap on what one noisy lead costs in the table.
    max_signals: int = MAX_SIGNALS
    # Tests (and what-if drills) shift the agent's clock by the number of seconds
    # written in this file, read on every use, so a running worker can be moved
    # forward without a restart. Unset in production.
    clock_offset_file: Path | None = None

    def clock(self) -> datetime:
        """Now, as the audience agent sees it."""
        now = datetime.now(UTC)
        if self.clock_offset_file is None:
            return now
        try:
            text = self.clock_offset_file.read_text(encoding="utf-8").strip()
        except FileNotFoundError:
            return now
        return now + timedelta(seconds=float(text or 0))
