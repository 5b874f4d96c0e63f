"""GET /audiences/{audience_id}/members: an audience's current members, paged.

Membership is read from PostgreSQL, where the audience sink stores it; paging is by
lead id (keyset), so a page stays cheap however deep the caller goes and a member
entering meanwhile never shifts the pages after it.
"""

from __future__ import annotations

from typing import Any

import psycopg
from aiohttp import web
from psycopg.rows import dict_row
from psycopg_pool import AsyncConnectionPool

from ingest_gateway.errors import ApiError, FieldError

POOL = web.AppKey("audience_pool", AsyncConnectionPool)
DEFAULT_LIMIT = 100
MAX_LIMIT = 1000

AUDIENCE_QUERY = """
SELECT audience_id, name, version FROM audiences
 WHERE workspace_id = %s AND audience_id = %s AND deleted_at IS NULL
"""
MEMBERS_QUERY = """
SELECT lead_id, audience_version, reason, entered_at
  FROM audience_members
 WHERE audience_id = %s AND workspace_id = %s AND member AND lead_id > %s
 ORDER BY lead_id
 LIMIT %s
"""


def add_audience_routes(app: web.Application, database_url: str | None) -> None:
    """Register the route and the lifecycle of its connection pool."""
    if database_url:
        app[POOL] = AsyncConnectionPool(
            database_url, min_size=1, max_size=2, open=False, timeout=5
        )

        async def open_pool(app: web.Application) -> None:
            await app[POOL].open(wait=False)

        async def close_pool(app: web.Application) -> None:
            await app[POOL].close()

        app.on_startup.append(open_pool)
        app.on_cleanup.append(close_pool)
    app.router.add_get("/audiences/{audience_id}/members", get_members)


def page_arguments(query: Any) -> tuple[int, str]:
    """``limit`` (1..1000) and ``after`` (a lead id) from the query string."""
    raw_limit = query.get("limit", str(DEFAULT_LIMIT))
    if not raw_limit.isdigit() or not 1 <= int(raw_limit) <= MAX_LIMIT:
        raise ApiError(
            400,
            "invalid_query",
            f"limit must be a whole number from 1 to {MAX_LIMIT}",
            [FieldError("limit", "out of range")],
        )
    return int(raw_limit), str(query.get("after", ""))


async def get_members(request: web.Request) -> web.Response:
    """The current members of one audience of the caller's workspace."""
    # Imported here: the app module imports this one to register the route.
    from ingest_gateway.app import authenticate, json_response

    workspace = authenticate(request)
    audience_id = request.match_info["audience_id"]
    limit, after = page_arguments(request.query)
    if POOL not in request.app:
        raise ApiError(503, "unavailable", "no database is configured")

    try:
        async with request.app[POOL].connection() as connection:
            cursor = connection.cursor(row_factory=dict_row)
            await cursor.execute(
                AUDIENCE_QUERY, (workspace["workspace_id"], audience_id)
            )
            audience = await cursor.fetchone()
            rows: list[dict[str, Any]] = []
            if audience is not None:
                await cursor.execute(
                    MEMBERS_QUERY,
                    (audience_id, workspace["workspace_id"], after, limit),
                )
                rows = await cursor.fetchall()
    except (psycopg.OperationalError, TimeoutError) as error:
        raise ApiError(
            503,
            "unavailable",
            "the audience store is unavailable; retry later",
            headers={"Retry-After": "5"},
        ) from error

    if audience is None:
        raise ApiError(404, "not_found", "no audience with that id in this workspace")
    members = [
        {
            "lead_id": row["lead_id"],
            "audience_version": row["audience_version"],
            "reason": row["reason"],
            "entered_at": row["entered_at"].isoformat() if row["entered_at"] else None,
        }
        for row in rows
    ]
    next_after = members[-1]["lead_id"] if len(members) == limit else None
    return json_response(
        {
            "audience_id": audience_id,
            "name": audience["name"],
            "version": audience["version"],
            "members": members,
            "next_after": next_after,
        }
    )
