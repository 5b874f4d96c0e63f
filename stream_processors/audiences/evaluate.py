"""Deciding a condition for one lead at one instant, with the reason it holds.

Evaluation is pure: the lead's facts and ``now`` come in, a verdict comes out, so the
stream agent, the backfill and the tests all reach the same answer for the same
facts. ``signals.<field>`` outside ``count`` reads the lead's latest signal (by
``occurred_at``), so a newer signal can take a lead out of an audience as well as
put it in; inside ``count`` it reads each counted signal in turn.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from stream_processors.audiences.language import (
    And,
    Compare,
    Count,
    Exists,
    In,
    Literal,
    Node,
    Not,
    Or,
    Path,
    Value,
)

Signal = Mapping[str, Any]


@dataclass(frozen=True)
class LeadFacts:
    """What a condition can see of one lead: its fields, company and recent signals.

    ``signals`` are ordered oldest first; each has ``occurred_at`` in epoch
    microseconds, ``signal_type``, ``source``, ``event_name``, ``bucket`` and
    ``context``.
    """

    lead: Mapping[str, Any]
    company: Mapping[str, Any] | None = None
    signals: Sequence[Signal] = field(default_factory=tuple)


@dataclass(frozen=True)
class Verdict:
    """Whether the condition holds, and the facts that made it so."""

    holds: bool
    reasons: tuple[str, ...] = ()

    @property
    def reason(self) -> str:
        return "; ".join(self.reasons)


def micros(instant: datetime) -> int:
    """Epoch microseconds, the unit every stored signal time uses."""
    delta = instant.astimezone(UTC) - datetime(1970, 1, 1, tzinfo=UTC)
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def from_micros(value: int) -> datetime:
    """The instant of epoch microseconds, in UTC."""
    return datetime(1970, 1, 1, tzinfo=UTC) + timedelta(microseconds=value)


def evaluate(node: Node, facts: LeadFacts, now: datetime) -> Verdict:
    """Decide ``node`` for the lead at ``now``."""
    latest = facts.signals[-1] if facts.signals else None
    return _Evaluator(facts, micros(now)).node(node, latest)


def next_change(node: Node, facts: LeadFacts, now: datetime) -> datetime | None:
    """The earliest instant after ``now`` at which a windowed count can change.

    That is when the oldest counted signal leaves its window (or a signal dated in
    the future enters it); without windows the verdict changes only with new facts.
    """
    evaluator = _Evaluator(facts, micros(now))
    due = [t for count in _counts(node) for t in evaluator.edges(count)]
    return from_micros(min(due)) if due else None


class _Evaluator:
    def __init__(self, facts: LeadFacts, now: int) -> None:
        self.facts = facts
        self.now = now

    def node(self, node: Node, signal: Signal | None) -> Verdict:
        match node:
            case And(parts):
                verdicts = [self.node(part, signal) for part in parts]
                holds = all(v.holds for v in verdicts)
                chosen = verdicts if holds else [v for v in verdicts if not v.holds]
                return Verdict(holds, _join(chosen))
            case Or(parts):
                verdicts = [self.node(part, signal) for part in parts]
                holds = any(v.holds for v in verdicts)
                chosen = [v for v in verdicts if v.holds] if holds else verdicts
                return Verdict(holds, _join(chosen))
            case Not(part):
                inner = self.node(part, signal)
                return Verdict(
                    not inner.holds, tuple(f"not ({r})" for r in inner.reasons)
                )
            case Compare(left, op, right):
                a, b = self.value(left, signal), self.value(right, signal)
                holds = _compare(a, op, b)
                return Verdict(holds, (f"{render(node)} [{_show(left, a, right, b)}]",))
            case In(value, options, negated):
                actual = self.value(value, signal)
                holds = any(_equal(actual, option) for option in options) != negated
                return Verdict(holds, (f"{render(node)} [{_show_one(value, actual)}]",))
            case Exists(path):
                actual = self.value(path, signal)
                return Verdict(actual is not None, (f"{render(node)}",))
        raise TypeError(f"not a condition node: {node!r}")

    def value(self, value: Value, signal: Signal | None) -> Any:
        match value:
            case Literal(constant):
                return constant
            case Path():
                return self.resolve(value, signal)
            case Count():
                return len(self.counted(value))
        raise TypeError(f"not a value: {value!r}")

    def counted(self, count: Count) -> list[Signal]:
        start = None if count.window is None else self.now - _window_micros(count)
        return [
            s
            for s in self.facts.signals
            if (start is None or start < s["occurred_at"] <= self.now)
            and self.node(count.where, s).holds
        ]

    def edges(self, count: Count) -> list[int]:
        if count.window is None:
            return []
        span = _window_micros(count)
        found: list[int] = []
        for s in self.facts.signals:
            if not self.node(count.where, s).holds:
                continue
            leaves, enters = s["occurred_at"] + span, s["occurred_at"]
            found.extend(t for t in (leaves, enters) if t > self.now)
        return found

    def resolve(self, path: Path, signal: Signal | None) -> Any:
        if path.root == "lead":
            start: Any = self.facts.lead
        elif path.root == "company":
            start = self.facts.company
        else:
            start = signal
        return _dig(start, path.parts[1:])


def _window_micros(count: Count) -> int:
    assert count.window is not None
    return micros(datetime(1970, 1, 1, tzinfo=UTC) + count.window)


def _dig(start: Any, names: Sequence[str]) -> Any:
    current = start
    for name in names:
        if not isinstance(current, Mapping):
            return None
        current = current.get(name)
    return current


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _equal(a: Any, b: Any) -> bool:
    if _is_number(a) and _is_number(b):
        return bool(a == b)
    return type(a) is type(b) and bool(a == b)


def _compare(a: Any, op: str, b: Any) -> bool:
    """Equality across types is false; ordering needs two numbers or two strings."""
    if op == "==":
        return _equal(a, b)
    if op == "!=":
        return not _equal(a, b)

    comparable = (_is_number(a) and _is_number(b)) or (
        isinstance(a, str) and isinstance(b, str)
    )
    if not comparable:
        return False
    if op == "<":
        return bool(a < b)
    if op == "<=":
        return bool(a <= b)
    if op == ">":
        return bool(a > b)
    return bool(a >= b)


def _join(verdicts: Sequence[Verdict]) -> tuple[str, ...]:
    return tuple(reason for v in verdicts for reason in v.reasons)


def _show(left: Value, a: Any, right: Value, b: Any) -> str:
    shown = [
        _show_one(v, x)
        for v, x in ((left, a), (right, b))
        if not isinstance(v, Literal)
    ]
    return ", ".join(shown)


def _show_one(value: Value, actual: Any) -> str:
    return f"{render(value)} = {json.dumps(actual, default=str)}"


def _counts(node: Node | Value) -> list[Count]:
    match node:
        case Count(where, _):
            return [node, *_counts(where)]
        case Compare(left, _, right):
            return _counts(left) + _counts(right)
        case In(value, _, _):
            return _counts(value)
        case And(parts) | Or(parts):
            return [c for part in parts for c in _counts(part)]
        case Not(part):
            return _counts(part)
    return []


def render(node: Node | Value) -> str:
    """The condition written back in the language; parsing it gives the same tree."""
    match node:
        case Path():
            return str(node)
        case Literal(value):
            return json.dumps(value, ensure_ascii=False)
        case Count(where, window):
            if window is None:
                return f"count({render(where)})"
            return f"count({render(where)}, {_duration(window)})"
        case Compare(left, op, right):
            return f"{render(left)} {op} {render(right)}"
        case In(value, options, negated):
            listed = ", ".join(json.dumps(o) for o in options)
            return f"{render(value)} {'not in' if negated else 'in'} [{listed}]"
        case Exists(path):
            return f"exists({path})"
        case And(parts):
            return " and ".join(f"({render(p)})" for p in parts)
        case Or(parts):
            return " or ".join(f"({render(p)})" for p in parts)
        case Not(part):
            return f"not ({render(part)})"
    raise TypeError(f"not a condition node: {node!r}")


def _duration(window: timedelta) -> str:
    minutes = int(window.total_seconds()) // 60
    if minutes % (24 * 60) == 0:
        return f"{minutes // (24 * 60)}d"
    if minutes % 60 == 0:
        return f"{minutes // 60}h"
    return f"{minutes}m"
