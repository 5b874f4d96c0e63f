"""``unstuck workspace rotate-key`` and ``revoke-other-keys``: API key rotation.

A rotation is two steps so no client is ever cut off: ``rotate-key`` adds a second
key while the first keeps working; once every client sends the new key,
``revoke-other-keys`` (run with the new key) drops the rest. Keys are stored only
as SHA-256 hashes in the workspace record; a new key is shown once.
"""

from __future__ import annotations

import json
import os
from typing import Annotated, Any

import typer

from deploy import admin
from deploy.environment import load_settings_env, require
from schemas.workspace import (
    WorkspaceError,
    hash_api_key,
    new_api_key,
    publish_workspace,
)

# Two keys cover a rotation; more would hide keys nobody remembers issuing.
MAX_KEYS = 2


def with_new_key(config: dict[str, Any]) -> tuple[dict[str, Any], str]:
    """The workspace with one more key, and that key in clear (shown once)."""
    hashes = list(config["api_key_hashes"])
    if len(hashes) >= MAX_KEYS:
        raise ValueError(
            "the workspace already holds two keys; finish the last rotation with "
            "revoke-other-keys first"
        )
    api_key = new_api_key()
    return {**config, "api_key_hashes": [*hashes, hash_api_key(api_key)]}, api_key


def keeping_only(config: dict[str, Any], api_key: str) -> dict[str, Any]:
    """The workspace with every key but ``api_key`` revoked."""
    kept = hash_api_key(api_key)
    if kept not in config["api_key_hashes"]:
        raise ValueError("that key does not belong to the workspace")
    return {**config, "api_key_hashes": [kept]}


def rotate_key(
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable.")] = False,
) -> None:
    """Add a second API key to the workspace of UNSTUCK_API_KEY; both work."""
    load_settings_env()
    config = admin.current_workspace(require("UNSTUCK_API_KEY"))
    try:
        changed, api_key = with_new_key(config)
    except ValueError as error:
        raise SystemExit(str(error)) from error

    _publish(changed)
    _emit(
        {"workspace_id": config["workspace_id"], "api_key": api_key},
        as_json,
        f"new API key (shown once): {api_key}\nthe old key works until "
        "`unstuck workspace revoke-other-keys` is run with the new one",
    )


def revoke_other_keys(
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable.")] = False,
) -> None:
    """Revoke every key of the workspace except UNSTUCK_API_KEY."""
    load_settings_env()
    api_key = require("UNSTUCK_API_KEY")
    config = admin.current_workspace(api_key)
    changed = keeping_only(config, api_key)

    _publish(changed)
    revoked = len(config["api_key_hashes"]) - 1
    _emit(
        {"workspace_id": config["workspace_id"], "revoked": revoked},
        as_json,
        f"revoked {revoked} key(s); only UNSTUCK_API_KEY works now",
    )


def _publish(config: dict[str, Any]) -> None:
    bootstrap = require("KAFKA_BOOTSTRAP_SERVERS")
    prefix = os.environ.get("UNSTUCK_TOPIC_PREFIX", "")
    try:
        publish_workspace(bootstrap, prefix, config)
    except WorkspaceError as error:
        raise SystemExit(str(error)) from error


def _emit(document: dict[str, Any], as_json: bool, text: str) -> None:
    typer.echo(json.dumps(document) if as_json else text)


def register(workspace_app: typer.Typer) -> None:
    """Add the rotation verbs to ``unstuck workspace``."""
    workspace_app.command("rotate-key")(rotate_key)
    workspace_app.command("revoke-other-keys")(revoke_other_keys)
