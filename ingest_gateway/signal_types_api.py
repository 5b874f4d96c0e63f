"""The signal types of a workspace over HTTP: list, declare, enable and disable.

A workspace key manages its own workspace under ``/signal-types``; an operator holding
``UNSTUCK_ADMIN_TOKEN`` manages any workspace under ``/admin/workspaces/{id}/...``
(those routes answer 404 while no token is configured). Every change is a whole
workspace record written to the compacted ``workspace.config`` topic, which every
replica and the processor read, so it takes effect everywhere within seconds.

Read-modify-write over the topic is last-writer-wins: two changes to one workspace
at the same instant can lose one of them. Admin changes are rare and made by people,
so this matters only for scripted bulk changes, which should be sequential.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import re
from collections.abc import Awaitable, Callable
from typing import Any, Final

from aiohttp import web

from ingest_gateway.body import parse_json
from ingest_gateway.errors import ApiError, FieldError, invalid
from ingest_gateway.settings import GatewaySettings
from schemas.signal_types import BUILTIN_SIGNAL_TYPES, custom_type_key
from schemas.workspace import WorkspaceDirectory, WorkspaceError, publish_workspace

MAX_DESCRIPTION: Final = 1000
MAX_DISPLAY_NAME: Final = 100
# The shape the processor's sub-rule compiler accepts (bucket names, rule and
# condition counts), checked here so a bad rule is a 400 now rather than a type
# whose events silently land in no bucket later.
MAX_SUBRULES: Final = 64
MAX_CONDITIONS: Final = 16
_BUCKET: Final = re.compile(r"[A-Za-z0-9][A-Za-z0-9_\-]{0,63}")

Resolver = Callable[[web.Request], dict[str, Any]]
Handler = Callable[[web.Request], Awaitable[web.Response]]


def describe_types(workspace: dict[str, Any]) -> list[dict[str, Any]]:
    """Built-in and custom types of a workspace, with whether each is enabled."""
    disabled = set(workspace.get("disabled_signal_types", []))
    types = [
        {
            "key": t.key,
            "display_name": t.key.replace("_", " ").capitalize(),
            "description": t.description,
            "builtin": True,
            "enabled": t.key not in disabled,
            "autoqualify": t.autoqualify,
            "sub_rules": [],
        }
        for t in BUILTIN_SIGNAL_TYPES.values()
    ]
    types.extend(_custom_json(custom) for custom in workspace["custom_signal_types"])
    return types


def _custom_json(custom: dict[str, Any]) -> dict[str, Any]:
    return {
        "key": custom["key"],
        "display_name": custom["display_name"],
        "description": custom["description"],
        "builtin": False,
        "enabled": bool(custom.get("enabled", True)),
        "autoqualify": bool(custom["autoqualify"]),
        "sub_rules": json.loads(custom.get("sub_rules_json") or "[]"),
    }


def declared_type(body: Any) -> dict[str, Any]:
    """The custom type a POST body declares, or a 400 naming each bad field."""
    if not isinstance(body, dict):
        raise ApiError(
            400,
            "invalid_body",
            "the body must be a JSON object",
            [FieldError("$", "expected a JSON object")],
        )

    errors: list[FieldError] = [
        FieldError(name, "unknown field")
        for name in sorted(
            body.keys() - {"display_name", "description", "sub_rules", "autoqualify"}
        )
    ]
    name = _text(body, "display_name", MAX_DISPLAY_NAME, errors)
    description = _text(body, "description", MAX_DESCRIPTION, errors)
    autoqualify = body.get("autoqualify", True)
    if not isinstance(autoqualify, bool):
        errors.append(FieldError("autoqualify", "must be true or false"))
    sub_rules = body.get("sub_rules", [])
    errors.extend(sub_rule_errors(sub_rules))

    key = _type_key(name, errors)
    if errors or name is None or description is None or key is None:
        raise invalid(errors)
    return {
        "key": key,
        "display_name": name,
        "description": description,
        "autoqualify": autoqualify,
        "enabled": True,
        "sub_rules_json": json.dumps(sub_rules, separators=(",", ":")),
    }


def _text(
    body: dict[str, Any], name: str, limit: int, errors: list[FieldError]
) -> str | None:
    value = body.get(name)
    if not isinstance(value, str) or not value.strip():
        errors.append(FieldError(name, "is required and must be a non-empty string"))
        return None
    if len(value) > limit or "\x00" in value:
        errors.append(FieldError(name, f"must be at most {limit} characters, no NUL"))
        return None
    return value.strip()


def _type_key(name: str | None, errors: list[FieldError]) -> str | None:
    if name is None:
        return None
    try:
        key = custom_type_key(name)
    except ValueError as error:
        errors.append(FieldError("display_name", str(error)))
        return None
    if key in BUILTIN_SIGNAL_TYPES:
        errors.append(FieldError("display_name", f"{key} is a built-in type"))
        return None
    return key


def sub_rule_errors(rules: Any) -> list[FieldError]:
    """Shape errors of sub-rules: a list of ``{"bucket": name, "when": {...}}``.

    Only the shape: operators inside a condition are checked by the processor's
    compiler, which lives in its own service. Moving that pure compiler into
    ``schemas/`` would let both sides share one check; until then an unknown
    operator is accepted here and makes its rule never match.
    """
    if not isinstance(rules, list):
        return [FieldError("sub_rules", "must be a list")]
    if len(rules) > MAX_SUBRULES:
        return [FieldError("sub_rules", f"must have at most {MAX_SUBRULES} rules")]

    errors: list[FieldError] = []
    for index, rule in enumerate(rules):
        where = f"sub_rules[{index}]"
        if not isinstance(rule, dict) or set(rule) - {"bucket", "when"}:
            errors.append(FieldError(where, "must be an object of bucket and when"))
            continue
        bucket = rule.get("bucket")
        if not isinstance(bucket, str) or not _BUCKET.fullmatch(bucket):
            errors.append(FieldError(f"{where}.bucket", "must be a short name"))
        when = rule.get("when", {})
        if not isinstance(when, dict) or len(when) > MAX_CONDITIONS:
            errors.append(
                FieldError(
                    f"{where}.when", f"must be an object of <= {MAX_CONDITIONS} keys"
                )
            )
    return errors


def with_type(config: dict[str, Any], declared: dict[str, Any]) -> dict[str, Any]:
    """The workspace with ``declared`` added, or replacing its earlier declaration."""
    others = [t for t in config["custom_signal_types"] if t["key"] != declared["key"]]
    return {**config, "custom_signal_types": [*others, declared]}


def with_enabled(config: dict[str, Any], key: str, enabled: bool) -> dict[str, Any]:
    """The workspace with one built-in or custom type switched on or off."""
    customs = config["custom_signal_types"]
    if any(t["key"] == key for t in customs):
        switched = [
            {**t, "enabled": enabled} if t["key"] == key else t for t in customs
        ]
        return {**config, "custom_signal_types": switched}

    if key not in BUILTIN_SIGNAL_TYPES:
        raise ApiError(404, "not_found", f"no signal type {key!r} in this workspace")
    disabled = set(config.get("disabled_signal_types", []))
    if enabled:
        disabled.discard(key)
    else:
        disabled.add(key)
    return {**config, "disabled_signal_types": sorted(disabled)}


class SignalTypesApi:
    """The handlers, bound to the app's directory and settings at startup."""

    def __init__(
        self,
        settings: GatewaySettings,
        directory: Callable[[], WorkspaceDirectory],
        by_key: Resolver,
    ) -> None:
        self._settings = settings
        self._directory = directory
        self._by_key = by_key

    def routes(self) -> list[web.RouteDef]:
        """Workspace-key routes, and operator routes behind the admin token."""
        admin = "/admin/workspaces/{workspace_id}/signal-types"
        return [
            web.get("/signal-types", self._list(self._by_key)),
            web.post("/signal-types", self._declare(self._by_key)),
            web.patch("/signal-types/{key}", self._switch(self._by_key)),
            web.get(admin, self._list(self._by_operator)),
            web.post(admin, self._declare(self._by_operator)),
            web.patch(admin + "/{key}", self._switch(self._by_operator)),
        ]

    def _by_operator(self, request: web.Request) -> dict[str, Any]:
        """The workspace named in the path, for a caller holding the admin token."""
        token = self._settings.admin_token
        if not token:
            raise ApiError(404, "not_found", "the admin API is not enabled")
        scheme, _, given = request.headers.get("Authorization", "").partition(" ")
        expected = token.encode()
        if scheme.lower() != "bearer" or not hmac.compare_digest(
            given.strip().encode(), expected
        ):
            raise ApiError(
                401,
                "unauthorized",
                "send Authorization: Bearer <admin token>",
                headers={"WWW-Authenticate": "Bearer"},
            )

        workspace = self._directory().get(request.match_info["workspace_id"])
        if workspace is None:
            raise ApiError(404, "not_found", "no such workspace")
        return workspace

    def _list(self, resolve: Resolver) -> Handler:
        async def handler(request: web.Request) -> web.Response:
            workspace = resolve(request)
            return _json({"signal_types": describe_types(workspace)})

        return handler

    def _declare(self, resolve: Resolver) -> Handler:
        async def handler(request: web.Request) -> web.Response:
            workspace = resolve(request)
            declared = declared_type(parse_json(await _small_body(request)))
            await self._publish(with_type(workspace, declared))
            return _json(_custom_json(declared), 201)

        return handler

    def _switch(self, resolve: Resolver) -> Handler:
        async def handler(request: web.Request) -> web.Response:
            workspace = resolve(request)
            body = parse_json(await _small_body(request))
            enabled = body.get("enabled") if isinstance(body, dict) else None
            if not isinstance(enabled, bool) or set(body) != {"enabled"}:
                raise invalid([FieldError("enabled", 'send {"enabled": bool}')])

            key = request.match_info["key"]
            changed = with_enabled(workspace, key, enabled)
            await self._publish(changed)
            listed = {t["key"]: t for t in describe_types(changed)}
            return _json(listed[key])

        return handler

    async def _publish(self, config: dict[str, Any]) -> None:
        settings = self._settings
        try:
            await asyncio.to_thread(
                publish_workspace,
                settings.kafka_bootstrap_servers,
                settings.topic_prefix,
                config,
            )
        except WorkspaceError as error:
            raise ApiError(
                503,
                "unavailable",
                "the change was not stored; retry after Retry-After seconds",
                headers={"Retry-After": "5"},
            ) from error


async def _small_body(request: web.Request) -> bytes:
    """Admin bodies are small; the app's client_max_size caps them (413)."""
    if request.content_type != "application/json":
        raise ApiError(415, "unsupported_media_type", "send application/json")
    try:
        return await request.read()
    except web.HTTPRequestEntityTooLarge as error:
        raise ApiError(413, "body_too_large", "the body is too large") from error


def _json(document: Any, status: int = 200) -> web.Response:
    text = json.dumps(document, ensure_ascii=False, allow_nan=False)
    return web.Response(text=text, status=status, content_type="application/json")
