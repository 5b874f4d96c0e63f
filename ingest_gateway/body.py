"""Strict JSON parsing of request bodies.

The standard parser accepts what would corrupt the pipeline later: duplicate keys
(which value wins is undefined across parsers), NaN and Infinity (not JSON, refused
by PostgreSQL jsonb), numbers that overflow to infinity, integers so long that they
cost seconds to parse. Each is refused here with the offending path.
"""

from __future__ import annotations

import json
import math
from typing import Any

from ingest_gateway.errors import ApiError, FieldError

MAX_INTEGER_DIGITS = 64


class _RefusedError(ValueError):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def _no_constants(name: str) -> Any:
    raise _RefusedError(f"{name} is not a JSON number")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise _RefusedError(f"number {text[:40]} is out of range")
    return value


def _bounded_int(text: str) -> int:
    digits = len(text.lstrip("-"))
    if digits > MAX_INTEGER_DIGITS:
        raise _RefusedError(f"integer with {digits} digits is longer than allowed")
    return int(text)


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise _RefusedError(f"duplicate key {key!r}")
        result[key] = value
    return result


def parse_json(raw: bytes) -> Any:
    """Parse one strict JSON document, or raise a 400 that says why."""
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
        return json.loads(
            text,
            object_pairs_hook=_unique_keys,
            parse_constant=_no_constants,
            parse_float=_finite_float,
            parse_int=_bounded_int,
        )
    except _RefusedError as error:
        raise ApiError(
            400, "invalid_json", error.message, [FieldError("$", error.message)]
        ) from error
    except (json.JSONDecodeError, RecursionError, ValueError) as error:
        message = f"invalid JSON: {error}"
        raise ApiError(
            400, "invalid_json", message, [FieldError("$", message)]
        ) from error


def find_bad_text(value: Any, path: str, max_depth: int) -> FieldError | None:
    """The first string holding NUL or a lone surrogate, or nesting past max_depth.

    Such text cannot be stored faithfully in PostgreSQL, and silently changing it
    would change the dedupe key, so the whole signal is refused instead.
    """
    stack: list[tuple[Any, str, int]] = [(value, path, 0)]
    while stack:
        item, where, depth = stack.pop()
        if depth > max_depth:
            return FieldError(where, f"nested deeper than {max_depth} levels")

        if isinstance(item, str):
            problem = _text_problem(item)
            if problem:
                return FieldError(where, problem)
        elif isinstance(item, dict):
            for key, child in item.items():
                problem = _text_problem(key)
                if problem:
                    return FieldError(_join(where, key), f"key {problem}")
                stack.append((child, _join(where, key), depth + 1))
        elif isinstance(item, list):
            for index, child in enumerate(item):
                stack.append((child, f"{where}[{index}]", depth + 1))
    return None


def _join(path: str, key: str) -> str:
    return key if path in ("", "$") else f"{path}.{key}"


def _text_problem(text: str) -> str | None:
    if "\x00" in text:
        return "contains a NUL character"
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return "contains a lone surrogate"
    return None
