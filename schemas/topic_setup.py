"""Create the topic catalog on a cluster, the same way every time.

Topics are part of the contract (partition counts decide key placement, cleanup
policy decides whether ``workspace.config`` keeps its last value per key), so they are
created explicitly from ``schemas.topics`` rather than left to broker auto-creation.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from concurrent.futures import Future
from typing import TYPE_CHECKING

import structlog
from confluent_kafka import KafkaError, KafkaException
from confluent_kafka.admin import AdminClient

# confluent-kafka's admin package re-exports these without an __all__, so mypy's
# strict mode only accepts them from the modules that define them.
from confluent_kafka.admin._config import ConfigResource
from confluent_kafka.admin._resource import ResourceType
from confluent_kafka.cimpl import NewTopic

from schemas import topics

if TYPE_CHECKING:
    from confluent_kafka.admin._metadata import TopicMetadata

_log = structlog.get_logger(__name__)


class TopicSetupError(RuntimeError):
    """A catalog topic could not be created or did not become visible."""


def ensure_topics(
    bootstrap: str,
    prefix: str = "",
    catalog: Iterable[topics.Topic] = topics.CATALOG,
    *,
    replication_factor: int = 1,
    timeout: float = 30.0,
    exact: bool = False,
) -> list[str]:
    """Create every catalog topic under ``prefix`` unless it exists; return names.

    Safe to call on every start: an existing topic is left as it is (a partition
    count that differs from the catalog is logged, since changing it would move
    keys between partitions). With ``exact``, another partition count or cleanup
    policy is an error, for topics whose readers cannot work with either. Returns
    once every topic is visible in metadata, so a producer started next never
    races topic creation.
    """
    wanted = {topic.name(prefix): topic for topic in catalog}
    admin = AdminClient({"bootstrap.servers": bootstrap})

    new_topics = [
        NewTopic(
            name,
            num_partitions=topic.partitions,
            replication_factor=replication_factor,
            config=topic.config(),
        )
        for name, topic in wanted.items()
    ]
    futures = admin.create_topics(
        new_topics, operation_timeout=timeout, request_timeout=timeout
    )
    created = _collect_results(futures, timeout)

    found = _wait_visible(admin, wanted, timeout)
    drifted = _partition_drift(found, wanted)
    if exact:
        drifted += _policy_drift(admin, wanted, timeout)
        if drifted:
            raise TopicSetupError("; ".join(drifted))
    _log.info(
        "topics_ensured",
        prefix=prefix,
        created=len(created),
        existing=len(wanted) - len(created),
    )
    return list(wanted)


def _collect_results(futures: dict[str, Future[None]], timeout: float) -> list[str]:
    """Return the names created now; raise for anything but 'already exists'.

    Errors are read with ``exception()`` so none is stored inside a future with a
    traceback pointing back here, which would keep the admin client alive.
    """
    created: list[str] = []
    failures: list[str] = []
    for name, future in futures.items():
        try:
            error = future.exception(timeout=timeout)
        except TimeoutError:
            failures.append(f"{name}: no answer from the cluster in {timeout:.0f}s")
            continue
        if error is None:
            created.append(name)
        elif not _already_exists(error):
            failures.append(f"{name}: {error}")

    if failures:
        raise TopicSetupError("could not create topics: " + "; ".join(failures))
    return created


def _already_exists(error: BaseException) -> bool:
    if not isinstance(error, KafkaException):
        return False
    kafka_error = error.args[0]
    return (
        isinstance(kafka_error, KafkaError)
        and kafka_error.code() == KafkaError.TOPIC_ALREADY_EXISTS
    )


def _wait_visible(
    admin: AdminClient, wanted: dict[str, topics.Topic], timeout: float
) -> dict[str, TopicMetadata]:
    """Poll metadata until every topic has all its partitions with a leader."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            metadata = admin.list_topics(timeout=max(1.0, timeout / 10))
        except KafkaException as err:
            problem = str(err)
        else:
            missing = [n for n in wanted if not _has_leaders(metadata.topics.get(n))]
            problem = "not visible: " + ", ".join(missing)
            if not missing:
                return {name: metadata.topics[name] for name in wanted}

        if time.monotonic() >= deadline:
            raise TopicSetupError(
                f"catalog topics not ready after {timeout:.0f}s: {problem}"
            )
        time.sleep(0.2)


def _has_leaders(found: TopicMetadata | None) -> bool:
    if found is None or found.error is not None or not found.partitions:
        return False
    return all(partition.leader >= 0 for partition in found.partitions.values())


def _partition_drift(
    found: dict[str, TopicMetadata], wanted: dict[str, topics.Topic]
) -> list[str]:
    """One sentence, logged too, for each topic whose partition count differs."""
    drifted: list[str] = []
    for name, topic in wanted.items():
        actual = len(found[name].partitions)
        if actual != topic.partitions:
            _log.warning(
                "topic_partitions_differ",
                topic=name,
                catalog=topic.partitions,
                actual=actual,
            )
            drifted.append(
                f"topic {name} has {actual} partitions where {topic.partitions}"
                " are needed"
            )
    return drifted


def _policy_drift(
    admin: AdminClient, wanted: dict[str, topics.Topic], timeout: float
) -> list[str]:
    """One sentence for each topic whose cleanup policy is not the catalog's: a
    compacted topic left on the delete policy loses its state after retention."""
    resources = [ConfigResource(ResourceType.TOPIC, name) for name in wanted]
    drifted: list[str] = []
    for resource, future in admin.describe_configs(
        resources, request_timeout=timeout
    ).items():
        try:
            entries = future.result(timeout=timeout)
        except (KafkaException, TimeoutError) as error:
            raise TopicSetupError(
                f"could not read the configuration of {resource.name}: {error}"
            ) from None
        actual = entries["cleanup.policy"].value
        needed = wanted[resource.name].config()["cleanup.policy"]
        if actual != needed:
            drifted.append(
                f"topic {resource.name} has cleanup.policy={actual} where"
                f" {needed} is needed"
            )
    return drifted
