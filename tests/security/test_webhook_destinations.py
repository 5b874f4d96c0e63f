"""Webhook destinations inside our own networks are refused before any connection.

Only address literals and names that resolve locally (``localhost``, numeric
forms) are used: the check must refuse them without sending a packet anywhere.
"""

from __future__ import annotations

import pytest

from sinks.errors import DestinationRefusedError
from sinks.webhooks.guard import DestinationPolicy, check_destination

REFUSED = [
    "http://10.0.0.5/hooks",
    "http://172.16.4.2:8080/hooks",
    "http://192.168.1.10/hooks",
    "http://169.254.169.254/latest/meta-data",
    "http://127.0.0.1:9/hooks",
    "http://localhost/hooks",
    "http://[::1]/hooks",
    "http://[::ffff:10.0.0.5]/hooks",
    "http://[fd00::1]/hooks",
    "http://0.0.0.0/hooks",
    "http://2130706433/hooks",
    "ftp://example.com/hooks",
]


@pytest.mark.parametrize("url", REFUSED)
async def test_private_destination_is_refused(url: str) -> None:
    """Private, loopback, link-local, metadata and odd spellings are all refused."""
    with pytest.raises(DestinationRefusedError):
        await check_destination(url, DestinationPolicy())


async def test_metadata_refused_even_when_private_allowed() -> None:
    """The cloud metadata address stays refused whatever the deployment allows."""
    policy = DestinationPolicy(allow_loopback=True, allow_private=True)

    with pytest.raises(DestinationRefusedError):
        await check_destination("http://169.254.169.254/", policy)
