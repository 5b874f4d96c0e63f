"""Run the gateway: ``python -m ingest_gateway`` or ``unstuck gateway``."""

from __future__ import annotations

from aiohttp import web

from ingest_gateway.app import build_app
from ingest_gateway.settings import GatewaySettings
from schemas.observability import configure_logging


def main() -> None:
    """Serve until SIGTERM or SIGINT, then drain in-flight requests and flush."""
    configure_logging("gateway")
    settings = GatewaySettings()
    web.run_app(
        build_app(settings),
        host=settings.host,
        port=settings.port,
        shutdown_timeout=settings.shutdown_grace_seconds,
        access_log=None,
        print=None,
    )


if __name__ == "__main__":
    main()
