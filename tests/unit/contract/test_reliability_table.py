"""The README's reliability table is the fault suite's, never a hand-edited copy."""

from __future__ import annotations

from tests.faults.report import (
    README_END,
    README_PATH,
    README_START,
    REPORT_PATH,
    splice_table,
)


def _table(text: str) -> str:
    start = text.index("| scenario")
    return text[start:]


def test_readme_shows_the_table_the_fault_suite_wrote() -> None:
    """Between its markers the README holds docs/reliability.md's table, row for row."""
    readme = README_PATH.read_text()
    between = readme[
        readme.index(README_START) + len(README_START) : readme.index(README_END)
    ]

    assert between.strip() == _table(REPORT_PATH.read_text()).strip()


def test_every_scenario_in_the_table_lost_and_duplicated_nothing() -> None:
    """The published figures are the guarantee: 0 lost, 0 duplicated, all announced."""
    rows = [line for line in _table(REPORT_PATH.read_text()).splitlines()[2:] if line]

    for row in rows:
        cells = [cell.strip() for cell in row.strip("|").split("|")]
        scenario, _, accepted, captured, lost, duplicated, _, webhooks = cells
        assert (lost, duplicated) == ("0", "0"), scenario
        assert captured == accepted == webhooks, scenario


def test_splice_replaces_only_what_stands_between_the_markers() -> None:
    text = f"intro\n{README_START}\nold table\n{README_END}\noutro\n"

    spliced = splice_table(text, "| new |\n")

    assert spliced == f"intro\n{README_START}\n| new |\n{README_END}\noutro\n"


def test_splice_leaves_a_readme_without_markers_alone() -> None:
    assert splice_table("no markers here\n", "| new |\n") == "no markers here\n"
