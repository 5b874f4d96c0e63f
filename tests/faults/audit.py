"""Count what came out of the pipeline for one workspace, against what went in."""

from __future__ import annotations

import time
import uuid
from collections import Counter
from dataclasses import dataclass

import psycopg
from confluent_kafka import Consumer, TopicPartition

from schemas import codec
from schemas.topics import RECORDS
from tests.faults.driver import PROBE_DOMAIN, LoadDriver
from tests.faults.receiver import FaultReceiver


@dataclass(frozen=True)
class Tally:
    """One row of the reliability table."""

    scenario: str
    sent: int
    accepted: int
    captured: int
    lost: int
    duplicated: int
    topic_repeats: int
    webhooks: int
    webhook_repeats: int
    on_topic: int

    def problems(self) -> list[str]:
        """Every way this run broke the guarantees; empty when it held."""
        found = []
        if self.lost:
            found.append(f"{self.lost} accepted signals lost")
        if self.duplicated:
            found.append(f"{self.duplicated} duplicated captures")
        if self.captured != self.accepted:
            found.append(f"captured {self.captured} != accepted {self.accepted}")
        if self.on_topic != self.accepted:
            found.append(f"records topic holds {self.on_topic} of {self.accepted}")
        if self.webhooks != self.accepted:
            found.append(f"webhooks {self.webhooks} != accepted {self.accepted}")
        if self.webhook_repeats:
            # A capture announced under two webhook ids: a receiver deduping by
            # webhook-id would act on it twice.
            found.append(f"{self.webhook_repeats} captures under a second webhook id")
        return found


def stored_rows(database_url: str, workspace_id: str) -> list[tuple[str, str]]:
    """(capture id, email) of every capture of the workspace in PostgreSQL."""
    with psycopg.connect(database_url, connect_timeout=5) as connection:
        rows = connection.execute(
            "SELECT capture_id, identity->>'email' FROM signal_captures"
            " WHERE workspace_id = %s",
            (workspace_id,),
        ).fetchall()
    return [(str(c), str(e)) for c, e in rows]


def records_on_topic(bootstrap: str, prefix: str, workspace_id: str) -> Counter[str]:
    """How many times each capture id of the workspace sits on the records topic."""
    topic = RECORDS.name(prefix)
    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": f"audit-{uuid.uuid4().hex[:8]}",
            "enable.auto.commit": False,
        }
    )
    try:
        return _read_all(consumer, topic, workspace_id)
    finally:
        consumer.close()


def _read_all(consumer: Consumer, topic: str, workspace_id: str) -> Counter[str]:
    metadata = consumer.list_topics(topic, timeout=10).topics[topic]
    ends = {}
    for partition in metadata.partitions:
        _, high = consumer.get_watermark_offsets(
            TopicPartition(topic, partition), timeout=10
        )
        if high > 0:
            ends[partition] = high
    consumer.assign([TopicPartition(topic, p, 0) for p in ends])

    counts: Counter[str] = Counter()
    deadline = time.monotonic() + 60
    while ends and time.monotonic() < deadline:
        message = consumer.poll(1.0)
        if message is None or message.error():
            continue
        record = codec.decode("record", message.value())
        if record["workspace_id"] == workspace_id:
            counts[record["capture_id"]] += 1
        if (message.offset() or 0) + 1 >= ends.get(message.partition() or 0, 0):
            ends.pop(message.partition(), None)
    return counts


def _counted(email: str) -> bool:
    """Whether a row is the driver's, not the probe that opened the scenario."""
    return not email.endswith("@" + PROBE_DOMAIN)


def wait_complete(
    database_url: str,
    workspace_id: str,
    receiver: FaultReceiver,
    tag: str,
    expected: int,
    timeout: float = 150.0,
) -> None:
    """Poll until PostgreSQL and the receiver hold ``expected`` captures, or time out.

    A timeout is not raised here: the tally that follows names what is missing.
    """
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            rows = len(stored_rows(database_url, workspace_id))
        except psycopg.OperationalError:
            rows = -1
        if rows >= expected and len(receiver.delivered(tag)) >= expected:
            return
        time.sleep(0.5)


def tally(
    scenario: str,
    driver: LoadDriver,
    *,
    bootstrap: str,
    prefix: str,
    database_url: str,
    workspace_id: str,
    receiver: FaultReceiver,
) -> Tally:
    """Compare the driver's 2xx answers with the table, the topic and the webhooks."""
    accepted = set(driver.accepted().values())
    rows = [r for r in stored_rows(database_url, workspace_id) if _counted(r[1])]
    on_topic = records_on_topic(bootstrap, prefix, workspace_id)
    delivered = receiver.delivered(driver.tag)

    stored = {capture_id for capture_id, _ in rows}
    emails = Counter(email for _, email in rows)
    return Tally(
        scenario=scenario,
        sent=driver.sent,
        accepted=len(accepted),
        captured=len(accepted & stored),
        lost=len(accepted - (stored & set(on_topic))),
        duplicated=sum(n - 1 for n in emails.values()) + len(stored - accepted),
        topic_repeats=sum(on_topic.values()) - len(on_topic),
        webhooks=len(accepted & set(delivered)),
        webhook_repeats=sum(len(ids) - 1 for ids in delivered.values()),
        on_topic=len(accepted & set(on_topic)),
    )
