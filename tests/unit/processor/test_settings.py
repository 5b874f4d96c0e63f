"""Processor settings that touch the file system."""

from __future__ import annotations

from pathlib import Path

from stream_processors.settings import ProcessorSettings


def test_app_data_dir_is_created_under_missing_parents(tmp_path: Path) -> None:
    """A fresh machine has no parent for the default data directory either."""
    template = str(tmp_path / "not" / "yet" / "{conf.name}")
    settings = ProcessorSettings(data_dir=template)

    path = settings.app_data_dir("p1.processor")

    assert path == tmp_path / "not" / "yet" / "p1.processor"
    assert path.is_dir()


def test_app_data_dir_without_placeholder_is_used_as_given(tmp_path: Path) -> None:
    settings = ProcessorSettings(data_dir=str(tmp_path / "fixed"))

    assert settings.app_data_dir("anything") == tmp_path / "fixed"
    assert (tmp_path / "fixed").is_dir()
