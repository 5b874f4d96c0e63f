"""The destination guard refuses our own networks unless configured."""

from __future__ import annotations

import ipaddress

import pytest

from sinks.errors import DestinationRefusedError
from sinks.webhooks.guard import DestinationPolicy, check_destination, refusal_reason

STRICT = DestinationPolicy()
DEV = DestinationPolicy(allow_loopback=True)
PRIVATE_OK = DestinationPolicy(allow_private=True)


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8080/hook",
        "http://[::1]/hook",
        "http://10.1.2.3/hook",
        "http://192.168.0.10/hook",
        "http://169.254.169.254/latest/meta-data/",
        "http://[fd00:ec2::254]/",
        "http://[::ffff:127.0.0.1]/hook",
        "http://0.0.0.0/hook",
        "http://localhost:9000/hook",
        "ftp://example.com/hook",
    ],
)
async def test_strict_policy_refuses(url: str) -> None:
    """Loopback, private, metadata, unspecified, localhost and non-HTTP are refused."""
    with pytest.raises(DestinationRefusedError):
        await check_destination(url, STRICT)


async def test_public_ip_is_allowed() -> None:
    """A public address passes the strict policy."""
    await check_destination("https://93.184.215.14/hook", STRICT)


async def test_loopback_allowed_in_dev() -> None:
    """With loopback allowed, 127.0.0.1 and localhost pass, private still does not."""
    await check_destination("http://127.0.0.1:8080/hook", DEV)
    await check_destination("http://localhost:8080/hook", DEV)

    with pytest.raises(DestinationRefusedError):
        await check_destination("http://10.0.0.5/hook", DEV)


@pytest.mark.parametrize("address", ["169.254.169.254", "fd00:ec2::254"])
def test_metadata_is_refused_even_when_private_is_allowed(address: str) -> None:
    """Cloud metadata endpoints hand out credentials, so no setting opens them."""
    reason = refusal_reason(ipaddress.ip_address(address), PRIVATE_OK)

    assert reason == "cloud metadata address"


def test_private_allowed_when_configured() -> None:
    """An on-premises deployment may deliver to RFC 1918 receivers when configured."""
    assert refusal_reason(ipaddress.ip_address("10.1.2.3"), PRIVATE_OK) is None
    assert refusal_reason(ipaddress.ip_address("10.1.2.3"), STRICT) == "private address"


def test_multicast_is_never_allowed() -> None:
    """Multicast is not a receiver, whatever the settings."""
    policy = DestinationPolicy(allow_loopback=True, allow_private=True)

    assert refusal_reason(ipaddress.ip_address("224.0.0.1"), policy) is not None
