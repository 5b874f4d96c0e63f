"""Key rotation as pure changes to the workspace's list of key hashes."""

from __future__ import annotations

import pytest

from deploy.key_commands import keeping_only, with_new_key
from schemas.workspace import hash_api_key, new_workspace


def test_rotation_keeps_the_old_key_and_stores_only_hashes() -> None:
    """A new key is added beside the old one, and neither appears in clear."""
    config, old_key = new_workspace("unit")

    rotated, new_key = with_new_key(config)

    assert rotated["api_key_hashes"] == [hash_api_key(old_key), hash_api_key(new_key)]
    assert old_key not in str(rotated)
    assert new_key not in str(rotated)


def test_a_third_key_is_refused() -> None:
    """A rotation must finish before the next one starts."""
    config, _ = new_workspace("unit")
    rotated, _ = with_new_key(config)

    with pytest.raises(ValueError, match="two keys"):
        with_new_key(rotated)


def test_revoking_keeps_only_the_given_key() -> None:
    """revoke-other-keys leaves just the key it was run with."""
    config, _old = new_workspace("unit")
    rotated, new_key = with_new_key(config)

    kept = keeping_only(rotated, new_key)

    assert kept["api_key_hashes"] == [hash_api_key(new_key)]
