"""Graceful stops of every component, and workers joining and leaving, under load."""

from __future__ import annotations

import signal

from tests.faults.conftest import SIGNALS, Tenant
from tests.integration.waiting import wait_for

SHUTDOWN_ORDER = (
    "gateway",
    "processor",
    "sink-records",
    "sink-webhooks",
    "sink-audiences",
)


def test_sigterm_every_component_under_load(tenant: Tenant) -> None:
    """Each service SIGTERMed mid-stream exits 0 in its grace; restarted, none lost."""
    stack = tenant.stack
    driver = tenant.driver()
    driver.start()

    driver.wait_accepted(SIGNALS // 3)
    codes = {name: stack.pipeline.end(name, signal.SIGTERM) for name in SHUTDOWN_ORDER}
    stack.revive()
    driver.wait()
    result = tenant.settle_and_tally("SIGTERM every component", driver)

    assert codes == dict.fromkeys(SHUTDOWN_ORDER, 0)
    assert driver.rejected() == {}
    assert stack.dead() == []
    assert result.problems() == [], result


def test_processor_added_then_removed(tenant: Tenant) -> None:
    """A second processor joins mid-stream and leaves later: each 2xx once."""
    stack = tenant.stack
    driver = tenant.driver()
    driver.start()

    driver.wait_accepted(SIGNALS // 4)
    stack.start("processor")
    wait_for(lambda: stack.processor_members() == 2, timeout=120, every=1.0)
    code = stack.pipeline.end("processor", signal.SIGTERM, index=1)
    wait_for(lambda: stack.processor_members() == 1, timeout=120, every=1.0)
    driver.wait()
    result = tenant.settle_and_tally("rebalance: processor added then removed", driver)

    assert code == 0
    assert driver.rejected() == {}
    assert stack.dead() == []
    assert result.problems() == [], result
