"""docs/topics.md states exactly what the catalog creates."""

from __future__ import annotations

from pathlib import Path

from deploy.contract_doc import (
    UNDOCUMENTED,
    generated_section,
    key,
    purpose,
    topic_table,
)
from schemas.topics import CATALOG

DOC = Path(__file__).resolve().parents[3] / "docs" / "topics.md"


def test_topic_table_matches_the_catalog() -> None:
    """The stored table equals the generated one (python -m deploy.contract_doc)."""
    stored = generated_section(DOC.read_text(encoding="utf-8"))

    assert stored == topic_table()


def test_every_catalog_topic_has_a_documented_key_and_purpose() -> None:
    """A new topic cannot ship without saying what it holds and its key."""
    missing = [t.base_name for t in CATALOG if UNDOCUMENTED in (key(t), purpose(t))]

    assert missing == []


def test_table_lists_partitions_and_cleanup_of_each_topic() -> None:
    """Each row carries the catalog's partition count and cleanup policy."""
    table = topic_table()

    for topic in CATALOG:
        row = next(
            r for r in table.splitlines() if r.startswith(f"| `{topic.base_name}`")
        )
        cells = [c.strip() for c in row.strip("|").split("|")]
        assert cells[4] == str(topic.partitions)
        assert cells[7] == topic.config()["cleanup.policy"]
