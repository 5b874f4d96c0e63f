"""Agreement of the title parser with hand labels of real titles (O*NET, IPOD)."""

import csv
from collections.abc import Callable
from pathlib import Path

import pytest

from stream_processors.qualification.rules import DEFAULT_RULES
from stream_processors.qualification.scoring import qualify
from stream_processors.qualification.titles import parse_title

FIXTURES = Path(__file__).parents[2] / "fixtures" / "titles"
FLOOR = 0.8
# heldout2 was labelled by a second engineer before the parser saw it. Its
# department agreement, 0.77 when first measured, is the figure that says how far
# the lexicon is from someone else's judgement (production and logistics trades,
# which that labeller counts as operations); the floor guards it from regressing.
FLOORS = {("heldout2", "department"): 0.75}


def _labelled(split: str | None = None) -> list[dict[str, str]]:
    """Rows of the labelled sample, optionally one split (dev or heldout)."""
    with (FIXTURES / "labelled_sample.csv").open(encoding="utf-8", newline="") as h:
        rows = list(csv.DictReader(h))
    return [row for row in rows if split is None or row["split"] == split]


def _persona(title: str) -> str:
    """The default-rules persona of a title alone, '' when none."""
    result = qualify(
        DEFAULT_RULES, company=None, identity={"title": title}, context=None
    )
    return result["persona_code"] or ""


_PREDICTIONS: dict[str, Callable[[str], str]] = {
    "seniority": lambda title: parse_title(title).seniority or "",
    "department": lambda title: parse_title(title).department or "",
    "persona": _persona,
}


@pytest.mark.parametrize("split", ["dev", "heldout", "heldout2", None])
@pytest.mark.parametrize("aspect", ["seniority", "department", "persona"])
def test_agreement_with_hand_labels(aspect: str, split: str | None) -> None:
    """Parser and default personas agree with the hand labels (80% unless noted)."""
    rows = _labelled(split)
    predict = _PREDICTIONS[aspect]

    agreed = sum(predict(row["title"]) == row[aspect] for row in rows)
    share = agreed / len(rows)
    print(
        f"title agreement {aspect} split={split or 'all'}:"
        f" {agreed}/{len(rows)} = {share:.3f}"
    )

    assert len(rows) >= 50
    assert share >= FLOORS.get((split or "all", aspect), FLOOR)


def _ipod_tokens(label: str) -> list[str]:
    """Gazetteer tokens all three IPOD annotators gave ``label``."""
    with (FIXTURES / "ipod_gazetteer.csv").open(encoding="utf-8", newline="") as h:
        rows = list(csv.DictReader(h))
    return [r["Title"] for r in rows if r["A1"] == r["A2"] == r["A3"] == label]


def test_ipod_location_tokens_do_not_change_a_parse() -> None:
    """A location word (unanimous IPOD LOC) added to a title leaves its parse alone."""
    base = [
        parse_title("Regional Sales Manager"),
        parse_title("Director of Engineering"),
    ]

    changed = [
        token
        for token in _ipod_tokens("LOC")
        if [
            parse_title(f"Regional Sales Manager {token}"),
            parse_title(f"{token} Director of Engineering"),
        ]
        != base
    ]

    assert len(_ipod_tokens("LOC")) >= 20
    assert changed == []


def test_ipod_function_tokens_are_not_ranks() -> None:
    """No unanimous IPOD function token reads as a rank above individual contributor."""
    ranked = [
        token
        for token in _ipod_tokens("FUN")
        if parse_title(token).seniority not in (None, "individual")
    ]

    assert len(_ipod_tokens("FUN")) >= 500
    assert ranked == []
