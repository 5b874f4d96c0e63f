"""SIGKILL of one service mid-stream, then a restart: nothing accepted is lost."""

from __future__ import annotations

import signal

from tests.faults.conftest import SIGNALS, Tenant


def _kill_and_restart(tenant: Tenant, service: str, scenario: str) -> None:
    stack = tenant.stack
    driver = tenant.driver()
    driver.start()

    driver.wait_accepted(SIGNALS // 3)
    stack.pipeline.end(service, signal.SIGKILL)
    stack.start(service)
    driver.wait()
    result = tenant.settle_and_tally(scenario, driver)

    assert driver.rejected() == {}
    assert stack.dead() == []
    assert result.problems() == [], result


def test_processor_worker_killed(tenant: Tenant) -> None:
    """A processor worker killed with -9 and restarted: each 2xx captured once."""
    _kill_and_restart(tenant, "processor", "kill -9 processor")


def test_records_sink_worker_killed(tenant: Tenant) -> None:
    """A records sink worker killed with -9 and restarted: each 2xx stored once."""
    _kill_and_restart(tenant, "sink-records", "kill -9 records sink")


def test_webhook_sink_worker_killed(tenant: Tenant) -> None:
    """A webhook sink worker killed with -9 and restarted: each result announced."""
    _kill_and_restart(tenant, "sink-webhooks", "kill -9 webhook sink")


def test_gateway_killed(tenant: Tenant) -> None:
    """The gateway killed with -9 and restarted: every 2xx it gave was durable."""
    _kill_and_restart(tenant, "gateway", "kill -9 gateway")
