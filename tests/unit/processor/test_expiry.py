"""The dedupe table's retention window: per workspace, per owned partition."""

from __future__ import annotations

from stream_processors.expiry import (
    Retention,
    expired_keys,
    is_expired,
    workspace_of_key,
)

DAY_US = 86_400 * 1_000_000
NOW_US = 1_800_000_000 * 1_000_000
RETENTION = Retention(30 * 86_400.0, {"ws-short": 86_400.0})


def entry(age_days: float, partition: int = 0) -> dict[str, object]:
    return {"first_seen_us": NOW_US - int(age_days * DAY_US), "partition": partition}


def test_workspace_is_the_readable_prefix_of_the_key() -> None:
    """The workspace of a key is the text before its first colon."""
    assert workspace_of_key(b"ws-a:sig:abc") == "ws-a"


def test_default_window_keeps_a_key_for_thirty_days() -> None:
    """Under the default window a 29-day-old key stays and a 31-day-old one goes."""
    assert not is_expired(b"ws-a:sig:x", entry(29), NOW_US, RETENTION)
    assert is_expired(b"ws-a:sig:x", entry(31), NOW_US, RETENTION)


def test_workspace_override_shortens_its_window_only() -> None:
    """A workspace's own window applies to its keys and to no one else's."""
    assert is_expired(b"ws-short:sig:x", entry(2), NOW_US, RETENTION)
    assert not is_expired(b"ws-other:sig:x", entry(2), NOW_US, RETENTION)


def test_only_owned_partitions_are_swept() -> None:
    """Expired keys of standby partitions are left for their owner's tombstones."""
    entries = [
        (b"ws-a:sig:old0", entry(40, partition=0)),
        (b"ws-a:sig:old1", entry(40, partition=1)),
        (b"ws-a:sig:new0", entry(1, partition=0)),
        (b"ws-a:sig:gone", None),
    ]

    found = expired_keys(entries, {0}, NOW_US, RETENTION)

    assert found == [(b"ws-a:sig:old0", 0)]
