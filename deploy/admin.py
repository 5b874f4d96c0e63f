"""Admin tasks behind the CLI: each reads the current state and writes it back."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING, Any

import aiohttp
from confluent_kafka import Producer

from schemas import codec
from schemas.signal_types import BUILTIN_SIGNAL_TYPES, custom_type_key
from schemas.topics import COMPANIES
from schemas.workspace import (
    WorkspaceDirectory,
    WorkspaceError,
    new_webhook_secret,
    new_workspace,
    publish_workspace,
)

if TYPE_CHECKING:
    from ingest_gateway.vendors import FileMapping

REPLAY_CONCURRENCY = 8


def _kafka() -> tuple[str, str]:
    bootstrap = os.environ.get("KAFKA_BOOTSTRAP_SERVERS")
    if not bootstrap:
        raise SystemExit("KAFKA_BOOTSTRAP_SERVERS is not set: run `unstuck dev` first")
    return bootstrap, os.environ.get("UNSTUCK_TOPIC_PREFIX", "")


def create_workspace(name: str) -> tuple[dict[str, Any], str]:
    bootstrap, prefix = _kafka()
    config, api_key = new_workspace(name)
    publish_workspace(bootstrap, prefix, config)
    return config, api_key


def current_workspace(api_key: str) -> dict[str, Any]:
    """The workspace of a key as the config topic holds it now."""
    bootstrap, prefix = _kafka()
    directory = WorkspaceDirectory(bootstrap, prefix)
    directory.start()
    try:
        directory.wait_ready(30)
        config = directory.by_api_key(api_key)
    finally:
        directory.stop()
    if config is None:
        raise SystemExit("UNSTUCK_API_KEY does not belong to any workspace")
    return config


def set_limits(
    api_key: str, per_minute: int | None, per_day: int | None
) -> dict[str, Any]:
    """Raise or lower the workspace's event budgets; unset ones are kept."""
    config = current_workspace(api_key)
    changed = {
        **config,
        "rate_limit_per_minute": per_minute or config["rate_limit_per_minute"],
        "rate_limit_per_day": per_day or config["rate_limit_per_day"],
    }
    _publish(changed)
    return limits_of(changed)


def limits_of(config: dict[str, Any]) -> dict[str, Any]:
    """The event budgets of a workspace, as ``workspace limits`` shows them."""
    return {
        "workspace_id": config["workspace_id"],
        "rate_limit_per_minute": config["rate_limit_per_minute"],
        "rate_limit_per_day": config["rate_limit_per_day"],
    }


def add_signal_type(
    api_key: str, name: str, description: str, autoqualify: bool, sub_rules: str
) -> dict[str, Any]:
    """Declare (or redeclare) a custom type; its key is the name in snake case."""
    key = custom_type_key(name)
    if key in BUILTIN_SIGNAL_TYPES:
        raise SystemExit(f"{key} is a built-in type; pick another name")
    try:
        rules = json.loads(sub_rules)
    except json.JSONDecodeError as error:
        raise SystemExit(f"--sub-rules is not JSON: {error}") from error
    if not isinstance(rules, list):
        raise SystemExit("--sub-rules must be a JSON list")

    config = current_workspace(api_key)
    declared = {
        "key": key,
        "display_name": name,
        "description": description,
        "autoqualify": autoqualify,
        "enabled": True,
        "sub_rules_json": json.dumps(rules),
    }
    others = [t for t in config["custom_signal_types"] if t["key"] != key]
    existed = len(others) < len(config["custom_signal_types"])
    config["custom_signal_types"] = [*others, declared]
    _publish(config)
    return {**declared, "updated": existed}


def set_webhook(api_key: str, url: str) -> str:
    """Point the workspace at URL with a fresh signing secret."""
    if not url.startswith(("http://", "https://")):
        raise SystemExit("the webhook URL must start with http:// or https://")
    config = current_workspace(api_key)
    secret = new_webhook_secret()
    config["webhook"] = {"url": url, "secrets": [secret], "enabled": True}
    _publish(config)
    return secret


def rotate_webhook_secret(api_key: str) -> str:
    """Add a signing secret beside the current one; deliveries carry both.

    Receivers move to the new secret at their own pace, then
    ``drop_old_webhook_secrets`` retires the old one; no delivery in between
    fails to verify.
    """
    config = current_workspace(api_key)
    webhook = config.get("webhook")
    if not webhook:
        raise SystemExit("the workspace has no webhook: run `unstuck webhook set URL`")
    secret = new_webhook_secret()
    config["webhook"] = {**webhook, "secrets": [webhook["secrets"][-1], secret]}
    _publish(config)
    return secret


def drop_old_webhook_secrets(api_key: str) -> int:
    """Keep only the newest signing secret; the number of secrets dropped."""
    config = current_workspace(api_key)
    webhook = config.get("webhook")
    if not webhook:
        raise SystemExit("the workspace has no webhook: run `unstuck webhook set URL`")
    dropped = len(webhook["secrets"]) - 1
    config["webhook"] = {**webhook, "secrets": webhook["secrets"][-1:]}
    _publish(config)
    return dropped


def _publish(config: dict[str, Any]) -> None:
    bootstrap, prefix = _kafka()
    try:
        publish_workspace(bootstrap, prefix, config)
    except WorkspaceError as error:
        raise SystemExit(str(error)) from error


def load_companies(path: Path) -> dict[str, int]:
    """Publish every company of a file to the compacted directory topic."""
    from stream_processors.enrichment.company_files import read_companies

    bootstrap, prefix = _kafka()
    producer = Producer({"bootstrap.servers": bootstrap, "enable.idempotence": True})
    topic = COMPANIES.name(prefix)
    loaded = 0
    for company in read_companies(path):
        producer.produce(
            topic,
            key=company["domain"].encode(),
            value=codec.encode("company", company),
        )
        producer.poll(0)
        loaded += 1
    remaining = producer.flush(60)
    if remaining:
        raise SystemExit(f"{remaining} companies were not acknowledged by Kafka")
    return {"loaded": loaded}


def replay_vendor_files(
    url: str, api_key: str, paths: list[Path], vendor: str | None
) -> dict[str, Any]:
    """Map each vendor payload to signal bodies and POST them one by one.

    Each file gets a line on stderr naming the vendor it was recognised as, so a
    file that maps to nothing is told apart from one that was sent.
    """
    from ingest_gateway.vendors import map_file

    bodies: list[dict[str, Any]] = []
    files: list[dict[str, Any]] = []
    for path in paths:
        found = sorted(path.rglob("*.json")) if path.is_dir() else [path]
        for file in found:
            if file.name.startswith("_"):
                continue
            mapping = map_file(file, vendor)
            bodies.extend(mapping.signals)
            files.append(
                {
                    "file": str(file),
                    "vendors": list(mapping.vendors),
                    "signals": len(mapping.signals),
                    "unrecognized": mapping.unrecognized,
                }
            )
            sys.stderr.write(describe_mapping(mapping) + "\n")
    summary = asyncio.run(_post_all(url, api_key, bodies))
    return {**summary, "files": files}


def describe_mapping(mapping: FileMapping) -> str:
    """A file that sends nothing says why: no payload, no known vendor, no lead."""
    from ingest_gateway.vendors import VENDORS

    if not mapping.vendors:
        if not mapping.payloads:
            return f"{mapping.path}: no payloads in the file; nothing to send"
        known = ", ".join(sorted(VENDORS))
        return (
            f"{mapping.path}: not recognised as a payload of any vendor ({known});"
            " nothing to send (name the vendor with --vendor)"
        )

    line = f"{mapping.path}: {', '.join(mapping.vendors)}"
    count = len(mapping.signals)
    if count:
        line += f", {count} signal{'s' if count != 1 else ''}"
    else:
        line += ", no signals (no payload names a lead, or none is an event we map)"
    if mapping.unrecognized:
        line += f"; {mapping.unrecognized} payload(s) of no known vendor skipped"
    return line


async def _post_all(
    url: str, api_key: str, bodies: list[dict[str, Any]]
) -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {api_key}"}
    semaphore = asyncio.Semaphore(REPLAY_CONCURRENCY)
    counts: Counter[str] = Counter()
    results: list[dict[str, Any]] = []

    async with aiohttp.ClientSession(headers=headers) as session:

        async def post(body: dict[str, Any]) -> None:
            async with semaphore, session.post(f"{url}/signals", json=body) as response:
                answer = await response.json(content_type=None)
                counts[str(response.status)] += 1
                results.append({"status": response.status, "answer": answer})

        await asyncio.gather(*(post(body) for body in bodies))
    return {"counts": dict(counts), "results": results}
