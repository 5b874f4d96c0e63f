"""Refusal of webhook destinations inside our own networks.

A workspace admin chooses the URL, so without this guard a delivery could reach
loopback services, private subnets or a cloud metadata endpoint (SSRF). The check
runs before each delivery for a clear refusal, and again inside the HTTP client's
resolver, so a name that re-resolves elsewhere afterwards is still refused.
"""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass
from typing import Final
from urllib.parse import urlsplit

from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.resolver import ThreadedResolver

from sinks.errors import DestinationRefusedError

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

# Never allowed, whatever the settings: these hand out cloud credentials.
METADATA_ADDRESSES: Final = frozenset(
    {ipaddress.ip_address("169.254.169.254"), ipaddress.ip_address("fd00:ec2::254")}
)


@dataclass(frozen=True)
class DestinationPolicy:
    """Which address ranges this deployment may deliver to."""

    allow_loopback: bool = False
    allow_private: bool = False


def refusal_reason(address: IPAddress, policy: DestinationPolicy) -> str | None:
    """Why ``address`` must not receive deliveries, or None when it may."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        address = address.ipv4_mapped

    if address in METADATA_ADDRESSES:
        return "cloud metadata address"
    if address.is_loopback:
        return None if policy.allow_loopback else "loopback address"
    if address.is_unspecified or address.is_multicast or address.is_reserved:
        return "unspecified, multicast or reserved address"
    if address.is_link_local:
        return None if policy.allow_private else "link-local address"
    if not address.is_global:
        return None if policy.allow_private else "private address"
    return None


def _check_address(url: str, address: str, policy: DestinationPolicy) -> None:
    reason = refusal_reason(ipaddress.ip_address(address.split("%")[0]), policy)
    if reason is not None:
        raise DestinationRefusedError(url, reason)


async def check_destination(url: str, policy: DestinationPolicy) -> None:
    """Raise ``DestinationRefusedError`` unless every address of the host is allowed.

    A name that cannot be resolved raises ``OSError``: DNS trouble is retried,
    not treated as a refusal.
    """
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise DestinationRefusedError(url, "not an http(s) URL with a host")
    host = parts.hostname

    try:
        ipaddress.ip_address(host.split("%")[0])
    except ValueError:
        pass
    else:
        _check_address(url, host, policy)
        return

    resolver = ThreadedResolver()
    for result in await resolver.resolve(host, 0, socket.AF_UNSPEC):
        _check_address(url, result["host"], policy)


class GuardedResolver(AbstractResolver):
    """An aiohttp resolver that drops the addresses the policy refuses."""

    def __init__(self, policy: DestinationPolicy) -> None:
        self._policy = policy
        self._inner = ThreadedResolver()

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        """Resolve as usual, then keep only allowed addresses."""
        results = await self._inner.resolve(host, port, family)
        allowed = [
            result
            for result in results
            if refusal_reason(ipaddress.ip_address(result["host"]), self._policy)
            is None
        ]
        if not allowed:
            raise OSError(f"every address of {host} is refused by the webhook guard")
        return allowed

    async def close(self) -> None:
        """Release the inner resolver."""
        await self._inner.close()
