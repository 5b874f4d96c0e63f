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
import re
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


class _StrictHooks:
    """The parser's hooks for one document, remembering whether any value was refused.

    Most bodies refuse nothing, and knowing that lets ``parse_json`` skip the walk
    that names refused values; the flag lives per document, so concurrent parses
    never see each other's.
    """

    __slots__ = ("refused",)

    def __init__(self) -> None:
        self.refused = False

    def constant(self, name: str) -> _Refused:
        self.refused = True
        return _Refused(f"{name} is not a JSON number")

    def finite_float(self, text: str) -> float | _Refused:
        value = float(text)
        if math.isfinite(value):
            return value
        self.refused = True
        return _Refused(f"number {text[:40]} is out of range")

    def bounded_int(self, text: str) -> int | _Refused:
        if len(text) <= MAX_INTEGER_DIGITS:
            return int(text)

        digits = len(text.lstrip("-"))
        if digits > MAX_INTEGER_DIGITS:
            self.refused = True
            return _Refused(f"integer with {digits} digits is longer than allowed")
        return int(text)

    def object(self, pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        result = dict(pairs)
        if len(result) == len(pairs):
            return result

        self.refused = True
        return _first_values(pairs)


def _first_values(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """An object that repeated keys, keeping the first value of each."""
    result: dict[str, Any] = {}
    repeated: list[str] = []
    for key, value in pairs:
        if key in result:
            repeated.append(key)
            continue
        result[key] = value

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

    hooks = _StrictHooks()
    try:
        document = json.loads(
            text,
            object_pairs_hook=hooks.object,
            parse_constant=hooks.constant,
            parse_float=hooks.finite_float,
            parse_int=hooks.bounded_int,
        )
    except (json.JSONDecodeError, RecursionError, ValueError) as error:
        message = f"invalid JSON: {error}"
        raise ApiError(
            400, "invalid_json", message, [FieldError("$", message)]
        ) from error

    if not hooks.refused:
        return document

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


# The only ways NUL or a lone surrogate can enter a parsed string: the decoder
# refuses raw control characters and UTF-8-encoded surrogates, so they must be
# written as escapes. Paired surrogate escapes match too; they only cost the walk.
_SUSPECT_ESCAPE = re.compile(rb"\\u(?:0000|[dD][89a-fA-F])")


def may_hold_bad_text(raw: bytes) -> bool:
    """Tell whether a JSON text could parse to a string ``find_bad_text`` refuses.

    One scan of the raw bytes answers for every item of a batch, so the common
    clean body skips the per-string checks and only its depth is measured.
    """
    return b"\x00" in raw or _SUSPECT_ESCAPE.search(raw) is not None


def find_bad_text(
    value: Any, path: str, max_depth: int, *, text_checked: bool = False
) -> FieldError | None:
    """The first string holding NUL or a lone surrogate, or nesting past max_depth.

    Such text cannot be stored faithfully in PostgreSQL, and silently changing it
    would change the dedupe key, so the whole signal is refused instead. ``path``
    is the path of ``value`` itself; ``""`` or ``$`` for a whole body.
    ``text_checked`` says the raw text held no escape that could produce such a
    string (``may_hold_bad_text`` was false), so only the depth is left to check.
    """
    if text_checked and not _too_deep(value, max_depth):
        return None

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


def _too_deep(value: Any, room: int) -> bool:
    """Tell whether anything inside ``value`` lies more than ``room`` levels down.

    Visits containers only, and never more than ``room`` levels of them, so it
    costs little next to the path-naming walk it lets clean bodies skip.
    """
    if room < 0:
        return True
    if isinstance(value, dict):
        children: Any = value.values()
    elif isinstance(value, list):
        children = value
    else:
        return False

    if room == 0:
        return len(children) > 0
    for child in children:
        if isinstance(child, (dict, list)) and _too_deep(child, room - 1):
            return True
    return False


def _text_problem(text: str) -> str | None:
    if "\x00" in text:
        return "contains a NUL character"
    if text.isascii():
        return None
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return "contains a lone surrogate"
    return None
