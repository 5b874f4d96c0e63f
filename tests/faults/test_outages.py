"""The broker, the database and the webhook receiver away for a while, then back."""

from __future__ import annotations

import time

from tests.faults.conftest import SIGNALS, Tenant

# How long each dependency stays away: long enough that every stage meets the
# outage (requests time out, consumers lose their coordinator, batches fail).
OUTAGE_S = 6.0


def _through_outage(tenant: Tenant, scenario: str, away: object, back: object) -> None:
    stack = tenant.stack
    driver = tenant.driver()
    driver.start()

    driver.wait_accepted(SIGNALS // 3)
    away()  # type: ignore[operator]
    time.sleep(OUTAGE_S)
    back()  # type: ignore[operator]
    driver.wait()
    result = tenant.settle_and_tally(scenario, driver)

    assert driver.rejected() == {}
    assert stack.dead() == []
    assert result.problems() == [], result


def test_kafka_broker_stopped_and_restarted(tenant: Tenant) -> None:
    """The only broker stops mid-stream and returns: every 2xx is captured once."""
    kafka = tenant.stack.kafka
    _through_outage(tenant, "Kafka broker restart", kafka.stop, kafka.start)


def test_postgres_stopped_and_restarted(tenant: Tenant) -> None:
    """PostgreSQL stops mid-stream and returns: the sink waits, then stores all."""
    postgres = tenant.stack.postgres
    _through_outage(tenant, "PostgreSQL restart", postgres.stop, postgres.start)


def test_webhook_receiver_fails_then_hangs_then_recovers(tenant: Tenant) -> None:
    """500s, then timeouts, then 200s: each capture announced once after dedupe."""
    modes = tenant.stack.receiver.modes

    def fail() -> None:
        modes[tenant.tag] = "fail"

    def hang_then_recover() -> None:
        modes[tenant.tag] = "hang"
        time.sleep(OUTAGE_S)
        modes[tenant.tag] = "ok"

    _through_outage(
        tenant, "webhook receiver failing then hanging", fail, hang_then_recover
    )
    assert tenant.stack.receiver.attempts(tenant.tag) > SIGNALS
