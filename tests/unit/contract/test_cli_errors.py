"""A user's ordinary mistakes end ``unstuck`` with one line, not a traceback."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from deploy.cli import main


def _run(monkeypatch: pytest.MonkeyPatch, *args: str) -> SystemExit:
    monkeypatch.setattr(sys, "argv", ["unstuck", *args])
    with pytest.raises(SystemExit) as ended:
        main()
    return ended.value


def test_a_missing_file_is_named_in_one_line(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """``companies load`` of a file that is not there says so, naming the file."""
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:1")
    missing = tmp_path / "nope.csv"

    ended = _run(monkeypatch, "companies", "load", str(missing))

    assert ended.code == f"error: No such file or directory: {missing}"


def test_a_list_that_is_no_company_list_is_one_line(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """A CSV with an unknown header is refused with the header it found."""
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:1")
    founders = tmp_path / "founders.csv"
    founders.write_text("Founder,Company,Gender\nAda,Acme,F\n", encoding="utf-8")

    ended = _run(monkeypatch, "companies", "load", str(founders))

    assert isinstance(ended.code, str)
    assert ended.code.startswith("error: ")
    assert "Founder" in ended.code
    assert "\n" not in ended.code
