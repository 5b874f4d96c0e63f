"""Where every command finds its settings: the environment, then ``dev.env``.

``unstuck dev`` writes ``dev.env``; every other verb, run from the same folder,
reads it for what the environment leaves unset, so the two-command quick start
needs no exports.
"""

from __future__ import annotations

import os
from pathlib import Path

DEFAULT_DATA_DIR = Path(".unstuck")
ENV_FILE = "dev.env"
KEYS = ("UNSTUCK_URL", "UNSTUCK_API_KEY", "KAFKA_BOOTSTRAP_SERVERS", "DATABASE_URL")


def data_dir() -> Path:
    return Path(os.environ.get("UNSTUCK_DATA_DIR", DEFAULT_DATA_DIR))


def read_env_file(path: Path) -> dict[str, str]:
    """KEY=VALUE lines; blank lines and comments are skipped."""
    if not path.exists():
        return {}
    values: dict[str, str] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        stripped = line.strip()
        if not stripped or stripped.startswith("#") or "=" not in stripped:
            continue
        name, _, value = stripped.partition("=")
        values[name.strip()] = value.strip()
    return values


def write_env_file(path: Path, values: dict[str, str]) -> None:
    """Written owner-readable only: it holds an API key."""
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = [f"{name}={value}" for name, value in values.items()]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    path.chmod(0o600)


def load_settings_env() -> None:
    """Fill unset variables from ``dev.env`` so services and verbs agree."""
    for name, value in read_env_file(data_dir() / ENV_FILE).items():
        os.environ.setdefault(name, value)


def require(name: str) -> str:
    value = os.environ.get(name)
    if not value:
        raise SystemExit(
            f"{name} is not set: run `unstuck dev` first, or export {name}"
        )
    return value
