"""Rows of a vendor feed file (JSON Lines or CSV) as signal bodies.

A row that cannot become a body is kept as a local rejection with its row number,
so the summary of ``unstuck send`` accounts for every row of the file.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from schemas.signal_body import IDENTITY_FIELDS, TOP_LEVEL_FIELDS


@dataclass(frozen=True)
class FeedRow:
    """One row: its 1-based number in the file's data, and a body or an error."""

    row: int
    body: dict[str, Any] | None
    error: str | None = None


def read_feed(path: Path) -> list[FeedRow]:
    """Every row of the file; the format is chosen by the suffix (.csv or not)."""
    if path.suffix.lower() == ".csv":
        return list(_csv_rows(path))
    return list(_jsonl_rows(path))


def _jsonl_rows(path: Path) -> Iterator[FeedRow]:
    with path.open(encoding="utf-8") as lines:
        number = 0
        for line in lines:
            if not line.strip():
                continue
            number += 1
            try:
                body = json.loads(line)
            except json.JSONDecodeError as error:
                # A feed line can be kilobytes long: the column finds the mistake.
                message = f"{error.msg} at column {error.colno}"
                yield FeedRow(number, None, f"invalid_json: {message}")
                continue
            if not isinstance(body, dict):
                yield FeedRow(number, None, "invalid_json: a row must be an object")
                continue
            yield FeedRow(number, body)


def _csv_rows(path: Path) -> Iterator[FeedRow]:
    """Columns are the body's fields; identity fields plain or as ``identity.x``.

    ``context`` holds JSON text; ``context.<name>`` columns become string context
    fields, which is what a spreadsheet export can carry.
    """
    with path.open(encoding="utf-8", newline="") as handle:
        for number, row in enumerate(csv.DictReader(handle), start=1):
            try:
                yield FeedRow(number, csv_body(row))
            except ValueError as error:
                yield FeedRow(number, None, f"invalid_csv: {error}")


def csv_body(row: dict[str, str | None]) -> dict[str, Any]:
    """The signal body of one CSV row; empty cells are left out."""
    body: dict[str, Any] = {}
    identity: dict[str, str] = {}
    context: dict[str, Any] = {}
    for column, cell in row.items():
        if column is None or cell is None or cell == "":
            continue
        name = column.strip()
        if name in TOP_LEVEL_FIELDS:
            body[name] = cell
        elif name.removeprefix("identity.") in IDENTITY_FIELDS:
            identity[name.removeprefix("identity.")] = cell
        elif name == "context":
            context.update(_context_json(cell))
        elif name.startswith("context."):
            context[name.removeprefix("context.")] = cell
        else:
            raise ValueError(f"unknown column {name}")

    body["identity"] = identity
    if context:
        body["context"] = context
    return body


def _context_json(cell: str) -> dict[str, Any]:
    try:
        parsed = json.loads(cell)
    except json.JSONDecodeError as error:
        raise ValueError(f"context is not JSON: {error.msg}") from error
    if not isinstance(parsed, dict):
        raise ValueError("context must be a JSON object")
    return parsed
