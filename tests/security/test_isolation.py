"""A key of one workspace can neither read nor write another workspace's captures."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any

from tests.faults.audit import stored_rows
from tests.faults.conftest import Tenant, make_tenant
from tests.faults.driver import signal_body
from tests.integration.waiting import wait_for


def _call(tenant: Tenant, path: str, body: Any = None) -> tuple[int, Any]:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(
        f"{tenant.stack.pipeline.url}{path}",
        data=data,
        headers={
            "Authorization": f"Bearer {tenant.api_key}",
            "Content-Type": "application/json",
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=15) as answer:
            return int(answer.status), json.loads(answer.read())
    except urllib.error.HTTPError as error:
        return int(error.code), json.loads(error.read())


def _other(tenant: Tenant) -> Tenant:
    """A second workspace on the same stack."""
    return make_tenant(tenant.stack)


def test_other_workspace_cannot_read_a_capture(tenant: Tenant) -> None:
    """GET of a capture with another workspace's key is a 404, not the capture."""
    other = _other(tenant)
    status, created = _call(tenant, "/signals", signal_body(tenant.tag, 7))
    capture_id = created["signal_capture_id"]
    wait_for(lambda: _call(tenant, f"/signals/{capture_id}")[0] == 200, 60)

    foreign_status, foreign = _call(other, f"/signals/{capture_id}")

    assert status in (200, 202)
    assert foreign_status == 404
    assert capture_id not in json.dumps(foreign)


def test_other_workspace_cannot_write_into_a_workspace(tenant: Tenant) -> None:
    """The same body under another key, even naming the first workspace, stays apart."""
    other = _other(tenant)
    body = signal_body(tenant.tag, 8)
    _, mine = _call(tenant, "/signals", body)
    forged = {**body, "workspace_id": tenant.workspace_id}

    forged_status, theirs = _call(other, "/signals", forged)
    plain_status, plain = _call(other, "/signals", body)
    wait_for(
        lambda: (
            len(stored_rows(other.stack.pipeline.database_url, other.workspace_id)) >= 2
        ),
        60,
    )
    mine_rows = stored_rows(tenant.stack.pipeline.database_url, tenant.workspace_id)

    assert forged_status == 400, theirs
    assert [f["field"] for f in theirs["error"]["fields"]] == ["workspace_id"]
    assert plain_status in (200, 202)
    assert plain["signal_capture_id"] != mine["signal_capture_id"]
    assert plain["signal_capture_id"] not in {c for c, _ in mine_rows}
