"""Strict JSON parsing of request bodies.

The standard parser accepts what would corrupt the pipeline later: duplicate keys
(which value wins is undefined across parsers), NaN and Infinity (not JSON, refused
by PostgreSQL jsonb), numbers that overflow to infinity, integers so long that they
cost seconds to parse. Each is refused here with the path of the offending value
(``context.revenue``), so the caller can fix the one field instead of guessing.

The parser's hooks cannot see where they are in the document, so a refused value is
parsed into a marker and a walk over the finished document names its path.
Integers are kept as Python ints: 2**64 stays exact all the way to jsonb.
"""

from __future__ import annotations

import json
import math
from typing import Any

from ingest_gateway.errors import ApiError, FieldError

MAX_INTEGER_DIGITS = 64
# Enough to point at every mistake of a hand-written body without letting a crafted
# one make the error answer itself large.
MAX_REPORTED_FIELDS = 20


class _Refused:
    """Stands in the parsed document where a value could not be kept faithfully."""

    __slots__ = ("message",)

    def __init__(self, message: str) -> None:
        self.message = message


class _DuplicateKeys(dict[str, Any]):
    """An object that repeated some of its keys; the first value of each is kept."""

    duplicates: list[str]


def _constant(name: str) -> _Refused:
    return _Refused(f"{name} is not a JSON number")


def _finite_float(text: str) -> float | _Refused:
    value = float(text)
    if not math.isfinite(value):
        return _Refused(f"number {text[:40]} is out of range")
    return value


def _bounded_int(text: str) -> int | _Refused:
    digits = len(text.lstrip("-"))
    if digits > MAX_INTEGER_DIGITS:
        return _Refused(f"integer with {digits} digits is longer than allowed")
    return int(text)


def _object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    repeated: list[str] = []
    for key, value in pairs:
        if key in result:
            repeated.append(key)
            continue
        result[key] = value
    if not repeated:
        return result

    marked = _DuplicateKeys(result)
    marked.duplicates = repeated
    return marked


def join_path(path: str, key: str) -> str:
    """The path of ``key`` inside the value at ``path`` (``$`` is the body itself)."""
    return key if path in ("", "$") else f"{path}.{key}"


def parse_json(raw: bytes) -> Any:
    """Parse one strict JSON document, or raise a 400 that names each bad value."""
    if not raw.strip():
        raise ApiError(
            400, "invalid_json", "the body is empty", [FieldError("$", "empty")]
        )

    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        raise ApiError(
            400, "invalid_json", "the body is not UTF-8", [FieldError("$", str(error))]
        ) from error

    try:
        document = json.loads(
            text,
            object_pairs_hook=_object,
            parse_constant=_constant,
            parse_float=_finite_float,
            parse_int=_bounded_int,
        )
    except (json.JSONDecodeError, RecursionError, ValueError) as error:
        message = f"invalid JSON: {error}"
        raise ApiError(
            400, "invalid_json", message, [FieldError("$", message)]
        ) from error

    refused = _refusals(document)
    if refused:
        message = "; ".join(f"{f.field}: {f.message}" for f in refused[:3])
        raise ApiError(400, "invalid_json", message, refused)
    return document


def _refusals(document: Any) -> list[FieldError]:
    """Every refused value and repeated key of a parsed document, by path."""
    found: list[FieldError] = []
    stack: list[tuple[Any, str]] = [(document, "$")]
    while stack and len(found) < MAX_REPORTED_FIELDS:
        item, where = stack.pop()
        if isinstance(item, _Refused):
            found.append(FieldError(where, item.message))
        elif isinstance(item, dict):
            if isinstance(item, _DuplicateKeys):
                found.extend(
                    FieldError(join_path(where, key), "duplicate key")
                    for key in item.duplicates
                )
            stack.extend((v, join_path(where, k)) for k, v in reversed(item.items()))
        elif isinstance(item, list):
            stack.extend(
                (v, f"{where}[{i}]") for i, v in reversed(list(enumerate(item)))
            )
    return found[:MAX_REPORTED_FIELDS]


def find_bad_text(value: Any, path: str, max_depth: int) -> FieldError | None:
    """The first string holding NUL or a lone surrogate, or nesting past max_depth.

    Such text cannot be stored faithfully in PostgreSQL, and silently changing it
    would change the dedupe key, so the whole signal is refused instead. ``path``
    is the path of ``value`` itself; ``""`` or ``$`` for a whole body.
    """
    stack: list[tuple[Any, str, int]] = [(value, path, 0)]
    while stack:
        item, where, depth = stack.pop()
        if depth > max_depth:
            return FieldError(where, f"nested deeper than {max_depth} levels")

        if isinstance(item, str):
            problem = _text_problem(item)
            if problem:
                return FieldError(where or "$", problem)
        elif isinstance(item, dict):
            for key, child in item.items():
                problem = _text_problem(key)
                if problem:
                    return FieldError(join_path(where, key), f"key {problem}")
                stack.append((child, join_path(where, key), depth + 1))
        elif isinstance(item, list):
            for index, child in enumerate(item):
                stack.append((child, f"{where or '$'}[{index}]", depth + 1))
    return None


def _text_problem(text: str) -> str | None:
    if "\x00" in text:
        return "contains a NUL character"
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return "contains a lone surrogate"
    return None
