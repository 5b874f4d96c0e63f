"""Generated requests from the gateway's own OpenAPI document: never a 500."""

from __future__ import annotations

import schemathesis
from hypothesis import HealthCheck, settings

from ingest_gateway.openapi import document
from tests.integration.conftest import Workspace

schema = schemathesis.openapi.from_dict(document())


@schemathesis.serializer("application/x-ndjson")
def _ndjson(_context: object, value: object) -> bytes:
    """Generated NDJSON bodies are text; send them as their UTF-8 bytes."""
    return str(value).encode("utf-8", "surrogatepass")


@schema.parametrize()
@settings(
    max_examples=8,
    derandomize=True,
    deadline=None,
    suppress_health_check=list(HealthCheck),
)
def test_no_generated_request_gets_a_500(
    case: schemathesis.Case, workspace: Workspace
) -> None:
    """Each operation answers generated input with a documented status below 500."""
    headers = {**(case.headers or {}), **workspace.headers}

    response = case.call(base_url=workspace.pipeline.url, headers=headers, timeout=30)

    documented = set(case.operation.definition.raw["responses"])
    if case.method.upper() != case.operation.method.upper():
        documented.add("405")
    assert str(response.status_code) in documented, (
        case.method,
        case.path,
        response.status_code,
        response.text,
    )
