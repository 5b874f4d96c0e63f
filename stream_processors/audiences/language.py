"""The audience condition language: a lark grammar and the tree it is parsed into.

A condition is checked when it is defined, so an operator sees a mistake with its
line and column at ``unstuck audience create`` instead of an audience that silently
never matches.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Final

from lark import Lark, Token, Transformer, v_args
from lark.exceptions import (
    UnexpectedCharacters,
    UnexpectedEOF,
    UnexpectedInput,
    UnexpectedToken,
    VisitError,
)

GRAMMAR: Final = r"""
?start: expr
?expr: or_expr
?or_expr: and_expr ("or" and_expr)*
?and_expr: not_expr ("and" not_expr)*
?not_expr: "not" not_expr -> negation
         | atom
?atom: comparison
     | membership
     | exists
     | "(" expr ")"
comparison: value COMPARATOR value
membership: value NOT_IN list
          | value "in" list
exists: "exists" "(" path ")"
?value: path | literal | count
count: "count" "(" expr ["," DURATION] ")"
path: NAME ("." NAME)*
list: "[" [literal ("," literal)*] "]"
?literal: STRING -> string
        | SIGNED_NUMBER -> number
        | "true" -> true
        | "false" -> false
        | "null" -> null

NOT_IN.2: /not\s+in\b/
COMPARATOR: "==" | "!=" | "<=" | ">=" | "<" | ">"
DURATION.2: /[0-9]+[dhm]\b/
NAME: /[A-Za-z_][A-Za-z0-9_]*/
STRING: /"(\\.|[^"\\\n])*"/ | /'(\\.|[^'\\\n])*'/

%import common.SIGNED_NUMBER
%import common.WS
%ignore WS
"""

ROOTS: Final = ("lead", "company", "signals")
# The longest window a condition may use; per-lead state keeps no older signals.
MAX_WINDOW: Final = timedelta(days=90)
_UNITS: Final = {
    "d": timedelta(days=1),
    "h": timedelta(hours=1),
    "m": timedelta(minutes=1),
}


class ConditionError(ValueError):
    """A condition that does not parse or names what does not exist, with where."""

    def __init__(self, message: str, line: int, column: int, expected: list[str]):
        super().__init__(f"line {line}, column {column}: {message}")
        self.line = line
        self.column = column
        self.expected = expected
        self.detail = message


@dataclass(frozen=True)
class Path:
    """A dotted field reference such as ``signals.context.team_size``."""

    parts: tuple[str, ...]

    @property
    def root(self) -> str:
        return self.parts[0]

    def __str__(self) -> str:
        return ".".join(self.parts)


@dataclass(frozen=True)
class Literal:
    """A constant: string, number, boolean or null."""

    value: Any


@dataclass(frozen=True)
class Count:
    """How many retained signals satisfy ``where``, optionally within ``window``."""

    where: Node
    window: timedelta | None


@dataclass(frozen=True)
class Compare:
    """``left OP right``; a missing or mistyped side makes orderings false."""

    left: Value
    op: str
    right: Value


@dataclass(frozen=True)
class In:
    """``value in [..]`` (or ``not in`` when ``negated``)."""

    value: Value
    options: tuple[Any, ...]
    negated: bool


@dataclass(frozen=True)
class Exists:
    """True when the path resolves to a non-null value."""

    path: Path


@dataclass(frozen=True)
class And:
    """Every part holds."""

    parts: tuple[Node, ...]


@dataclass(frozen=True)
class Or:
    """At least one part holds."""

    parts: tuple[Node, ...]


@dataclass(frozen=True)
class Not:
    """The part does not hold."""

    part: Node


Value = Path | Literal | Count
Node = Compare | In | Exists | And | Or | Not


class _PositionedError(Exception):
    def __init__(self, message: str, token: Token) -> None:
        super().__init__(message)
        self.message = message
        self.line = token.line or 1
        self.column = token.column or 1


@v_args(inline=True)
class _ToTree(Transformer[Token, Node]):
    def or_expr(self, *parts: Node) -> Node:
        return Or(tuple(parts))

    def and_expr(self, *parts: Node) -> Node:
        return And(tuple(parts))

    def negation(self, part: Node) -> Node:
        return Not(part)

    def comparison(self, left: Value, op: Token, right: Value) -> Node:
        return Compare(left, str(op), right)

    def membership(self, value: Value, *rest: Any) -> Node:
        negated = len(rest) == 2
        return In(value, rest[-1], negated)

    def exists(self, path: Path) -> Node:
        return Exists(path)

    def count(self, where: Node, window: Token | None) -> Count:
        if window is None:
            return Count(where, None)
        span = int(window[:-1]) * _UNITS[window[-1]]
        if span > MAX_WINDOW or span <= timedelta(0):
            raise _PositionedError(
                f"a window must be more than 0 and at most {MAX_WINDOW.days}d", window
            )
        return Count(where, span)

    def path(self, *names: Token) -> Path:
        if str(names[0]) not in ROOTS:
            raise _PositionedError(
                f"a field starts with one of {', '.join(ROOTS)}, not {names[0]}",
                names[0],
            )
        if len(names) < 2:
            raise _PositionedError(f"name a field of {names[0]}", names[0])
        return Path(tuple(str(n) for n in names))

    def list(self, *items: Literal | None) -> tuple[Any, ...]:
        return tuple(item.value for item in items if item is not None)

    def string(self, token: Token) -> Literal:
        return Literal(_unquote(str(token)))

    def number(self, token: Token) -> Literal:
        text = str(token)
        return Literal(float(text) if re.search(r"[.eE]", text) else int(text))

    def true(self) -> Literal:
        return Literal(True)

    def false(self) -> Literal:
        return Literal(False)

    def null(self) -> Literal:
        return Literal(None)


_PARSER: Final = Lark(GRAMMAR, parser="lalr", propagate_positions=True)


def parse(text: str) -> Node:
    """The condition's tree, or ``ConditionError`` naming the line and column."""
    try:
        tree = _PARSER.parse(text)
    except UnexpectedInput as error:
        raise _syntax_error(text, error) from error

    try:
        node = _ToTree().transform(tree)
    except VisitError as error:
        cause = error.orig_exc
        if isinstance(cause, _PositionedError):
            raise ConditionError(cause.message, cause.line, cause.column, []) from None
        raise

    if not isinstance(node, Compare | In | Exists | And | Or | Not):
        raise ConditionError("the condition must be a comparison", 1, 1, [])
    return node


def _syntax_error(text: str, error: UnexpectedInput) -> ConditionError:
    """Say what was found where, and what the grammar would have accepted there."""
    expected: list[str] = []
    if isinstance(error, UnexpectedToken | UnexpectedEOF):
        expected = sorted(_describe(name) for name in error.expected)
    elif isinstance(error, UnexpectedCharacters):
        expected = sorted(_describe(name) for name in (error.allowed or ()))

    line = max(error.line, 1) if error.line != -1 else text.count("\n") + 1
    column = max(error.column, 1) if error.column != -1 else len(text) + 1
    if isinstance(error, UnexpectedEOF) or (
        isinstance(error, UnexpectedToken) and error.token.type == "$END"
    ):
        found = (
            "the condition is empty"
            if not text.strip()
            else "the condition ends too early"
        )
        line = text.count("\n") + 1
        column = len(text.rsplit("\n", 1)[-1]) + 1
    elif isinstance(error, UnexpectedCharacters):
        position = error.pos_in_stream or 0
        found = (
            f"unexpected {text[position]!r}"
            if position < len(text)
            else "unexpected character"
        )
    else:
        found = f"unexpected {str(getattr(error, 'token', ''))!r}"

    if not expected:
        return ConditionError(found, line, column, expected)
    wanted = _one_of([_quoted(name) for name in dict.fromkeys(expected)])
    return ConditionError(f"{found}; expected {wanted}", line, column, expected)


def _one_of(names: list[str]) -> str:
    """``a, b or c``: the reader is offered a choice, not a list to take in full."""
    if len(names) == 1:
        return names[0]
    return f"{', '.join(names[:-1])} or {names[-1]}"


def _quoted(name: str) -> str:
    """Keywords and punctuation in quotes, so ``,`` or ``or`` is not read as prose."""
    return name if name in _DESCRIBED else repr(name)


_TERMINAL_NAMES: Final = {
    "COMPARATOR": "a comparison (== != < <= > >=)",
    "NOT_IN": "not in",
    "DURATION": "a duration such as 14d",
    "NAME": "a field name",
    "STRING": "a string",
    "SIGNED_NUMBER": "a number",
    "LPAR": "(",
    "RPAR": ")",
    "LSQB": "[",
    "RSQB": "]",
    "COMMA": ",",
    "DOT": ".",
    "$END": "the end of the condition",
}


_DESCRIBED: Final = frozenset(
    name for name in _TERMINAL_NAMES.values() if name.startswith(("a ", "the "))
)


def _describe(terminal: str) -> str:
    if terminal in _TERMINAL_NAMES:
        return _TERMINAL_NAMES[terminal]
    pattern = _PARSER.get_terminal(terminal).pattern.value
    return str(pattern)


def _unquote(token: str) -> str:
    """JSON escapes in double quotes; in single quotes a backslash keeps the next."""
    if token.startswith('"'):
        try:
            return str(json.loads(token))
        except json.JSONDecodeError:
            pass
    return re.sub(r"\\(.)", r"\1", token[1:-1])


def windows(node: Node | Value) -> list[timedelta]:
    """Every window a condition uses, so state and timers know what to keep."""
    match node:
        case Count(where, window):
            return ([window] if window is not None else []) + windows(where)
        case Compare(left, _, right):
            return windows(left) + windows(right)
        case In(value, _, _):
            return windows(value)
        case And(parts) | Or(parts):
            return [w for part in parts for w in windows(part)]
        case Not(part):
            return windows(part)
        case _:
            return []
