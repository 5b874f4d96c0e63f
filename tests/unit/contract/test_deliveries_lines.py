"""``unstuck deliveries`` lines: a missing value is left out or named, never None."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from deploy.cli_deliveries import delivery_line, endpoint_line

AT = datetime(2026, 10, 1, 12, 0, tzinfo=UTC)


def attempt(**changes: Any) -> dict[str, Any]:
    """A row of ``list_deliveries``, delivered at the first attempt."""
    row: dict[str, Any] = {
        "webhook_id": "wh_1",
        "attempt": 1,
        "capture_id": "cap_1",
        "url": "https://example.com/hook",
        "status_code": 200,
        "error": None,
        "latency_ms": 12,
        "attempted_at": AT,
        "delivered": True,
    }
    return {**row, **changes}


def endpoint(**changes: Any) -> dict[str, Any]:
    """A row of ``list_endpoints``, healthy."""
    row: dict[str, Any] = {
        "url": "https://example.com/hook",
        "status": "active",
        "failing_since": None,
        "consecutive_failures": 0,
        "last_error": None,
        "last_failure_at": None,
        "last_success_at": AT,
        "disabled_at": None,
        "disabled_reason": None,
    }
    return {**row, **changes}


def test_a_delivered_attempt_ends_with_its_state() -> None:
    """No error means nothing after ``delivered=True``."""
    assert delivery_line(attempt()) == (
        f"{AT} wh_1 attempt 1 capture cap_1 status 200 delivered=True"
    )


def test_an_attempt_without_an_answer_says_so_and_keeps_its_error() -> None:
    """A timeout has no status code: the line says there was no response."""
    line = delivery_line(
        attempt(status_code=None, delivered=False, error="timed out after 10 s")
    )

    assert line.endswith("no response delivered=False timed out after 10 s")
    assert "None" not in line


def test_a_healthy_endpoint_ends_with_its_failure_count() -> None:
    """No disabled reason means nothing after ``failures=0``."""
    assert endpoint_line(endpoint()) == "https://example.com/hook active failures=0"


def test_a_failing_or_disabled_endpoint_says_why() -> None:
    """A failing endpoint shows its last error; a disabled one, the reason."""
    failing = endpoint(consecutive_failures=3, last_error="HTTP 500")
    disabled = endpoint(
        status="disabled",
        consecutive_failures=40,
        last_error="HTTP 500",
        disabled_reason="every delivery failed since 2026-10-01: HTTP 500",
    )

    assert endpoint_line(failing).endswith("failures=3 last error: HTTP 500")
    assert endpoint_line(disabled).endswith(
        "disabled failures=40 every delivery failed since 2026-10-01: HTTP 500"
    )
