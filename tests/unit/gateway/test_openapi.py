"""The OpenAPI document describes every route the gateway serves."""

from __future__ import annotations

from ingest_gateway.app import build_app
from ingest_gateway.openapi import document
from ingest_gateway.settings import GatewaySettings


def test_every_route_is_documented() -> None:
    """Each (method, path) of the app's router is an operation of the document."""
    app = build_app(GatewaySettings())
    served = {
        (route.method.lower(), route.resource.canonical)
        for route in app.router.routes()
        if route.method != "HEAD" and route.resource is not None
    }
    paths = document()["paths"]

    documented = {(method, path) for path, item in paths.items() for method in item}

    assert served <= documented
