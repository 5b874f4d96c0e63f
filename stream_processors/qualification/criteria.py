"""One rule criterion: validated once, compiled to a predicate, described for reasons.

Rules arrive as JSON from the workspace config and run on every signal, so each
criterion is checked and turned into a closure when the rules are loaded; scoring
only calls the closure. Semantics that operators meet in practice:

- Text compares case-insensitively ("Retail" equals "retail").
- A missing value (absent, null, empty list) fails every operator except
  ``exists: false``; "unknown" is never evidence of fit.
- On a list value (``company.technologies``) ``eq``/``in``/``contains`` match when
  any element does, ``ne``/``not_in`` when no element does.
- Numeric operators accept numbers and numeric strings ("15" from a form), never
  booleans.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Final

from stream_processors.qualification.errors import RulesError

OPERATORS: Final = (
    "eq",
    "ne",
    "in",
    "not_in",
    "gt",
    "gte",
    "lt",
    "lte",
    "between",
    "contains",
    "exists",
)
_SYMBOLS: Final = {
    "eq": "=",
    "ne": "!=",
    "gt": ">",
    "gte": ">=",
    "lt": "<",
    "lte": "<=",
}
_CRITERION_KEYS: Final = frozenset({"field", "op", "value", "weight", "required"})

# Bounds that keep one workspace's rules from costing every signal real time.
MAX_LIST_ITEMS: Final = 256
MAX_TEXT: Final = 200
MAX_WEIGHT: Final = 1000.0

# Identity values that name a person; reasons never repeat them.
_PRIVATE_IDENTITY: Final = frozenset(
    {"email", "linkedin_url", "first_name", "last_name"}
)

Scalar = str | int | float | bool
Predicate = Callable[[Any], bool]


@dataclass(frozen=True, slots=True)
class Criterion:
    """A compiled criterion: where to read, how to test, how to explain a match."""

    field: str
    path: tuple[str, ...]
    op: str
    value: Any
    weight: float
    required: bool
    test: Predicate = dataclasses.field(compare=False, repr=False)

    def describe(self) -> str:
        """The criterion as a reader writes it, e.g. ``company.employees >= 1000``."""
        if self.op in _SYMBOLS:
            return f"{self.field} {_SYMBOLS[self.op]} {_show(self.value)}"
        if self.op in ("in", "not_in"):
            items = ", ".join(_show(item) for item in self.value)
            return f"{self.field} {self.op.replace('_', ' ')} [{items}]"
        if self.op == "between":
            low, high = self.value
            return f"{self.field} between {_show(low)} and {_show(high)}"
        if self.op == "contains":
            return f"{self.field} contains {_show(self.value)}"
        return f"{self.field} {'exists' if self.value else 'is missing'}"

    def explain(self, actual: Any) -> str:
        """The description followed by the value seen, unless that value is private."""
        shown = _show_actual(self.path, actual)
        return self.describe() if shown is None else f"{self.describe()} ({shown})"


def compile_criterion(
    raw: Any, where: str, check_field: Callable[[str, str], tuple[str, ...]]
) -> Criterion:
    """Validate one criterion object and compile it; errors name ``where``."""
    if not isinstance(raw, dict):
        raise RulesError(where, "must be an object")
    for key in raw:
        if key not in _CRITERION_KEYS:
            raise RulesError(f"{where}.{key}", "unknown key")

    name = raw.get("field")
    if not isinstance(name, str) or not name:
        raise RulesError(f"{where}.field", "must be a non-empty string")
    path = check_field(name, f"{where}.field")
    op = raw.get("op")
    if op not in OPERATORS:
        raise RulesError(f"{where}.op", f"must be one of {', '.join(OPERATORS)}")

    value = _check_value(op, raw.get("value", _MISSING), f"{where}.value")
    return Criterion(
        field=name,
        path=path,
        op=op,
        value=value,
        weight=_check_weight(raw.get("weight", 1), f"{where}.weight"),
        required=_check_bool(raw.get("required", False), f"{where}.required"),
        test=_predicate(op, value),
    )


_MISSING: Final = object()


def _check_value(op: str, value: Any, where: str) -> Any:
    """The operator's value in canonical form: lists become tuples, text is folded."""
    if op == "exists":
        return _check_bool(True if value is _MISSING else value, where)
    if value is _MISSING:
        raise RulesError(where, f"is required for op {op}")
    if op in ("gt", "gte", "lt", "lte"):
        return _check_number(value, where)
    if op == "between":
        if not isinstance(value, list) or len(value) != 2:
            raise RulesError(where, "must be a list [low, high]")
        low = _check_number(value[0], f"{where}[0]")
        high = _check_number(value[1], f"{where}[1]")
        if low > high:
            raise RulesError(where, "low must not exceed high")
        return (low, high)
    if op in ("in", "not_in"):
        if not isinstance(value, list) or not value:
            raise RulesError(where, "must be a non-empty list")
        if len(value) > MAX_LIST_ITEMS:
            raise RulesError(where, f"must have at most {MAX_LIST_ITEMS} items")
        return tuple(
            _check_scalar(item, f"{where}[{i}]") for i, item in enumerate(value)
        )
    return _check_scalar(value, where)


def _check_scalar(value: Any, where: str) -> Scalar:
    """A string, number or boolean; strings are folded for case-free comparison."""
    if isinstance(value, str):
        if len(value) > MAX_TEXT:
            raise RulesError(where, f"must be at most {MAX_TEXT} characters")
        return value.casefold()
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        return _check_number(value, where)
    raise RulesError(where, "must be a string, number or boolean")


def _check_number(value: Any, where: str) -> float | int:
    """A finite number that is not a boolean."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise RulesError(where, "must be a number")
    if not math.isfinite(value):
        raise RulesError(where, "must be finite")
    return value


def _check_weight(value: Any, where: str) -> float:
    """A positive, bounded weight."""
    number = _check_number(value, where)
    if not 0 < number <= MAX_WEIGHT:
        raise RulesError(where, f"must be greater than 0 and at most {MAX_WEIGHT:g}")
    return float(number)


def _check_bool(value: Any, where: str) -> bool:
    """A JSON boolean, nothing truthy."""
    if not isinstance(value, bool):
        raise RulesError(where, "must be true or false")
    return value


def _predicate(op: str, value: Any) -> Predicate:
    """The compiled test for one operator and its canonical value."""
    if op == "exists":
        return lambda actual: _present(actual) is value
    if op in ("gt", "gte", "lt", "lte", "between"):
        compare = _numeric_comparison(op, value)
        return lambda actual: _any_number(actual, compare)
    if op == "contains":
        return lambda actual: _contains(actual, value)

    members = frozenset((value,)) if op in ("eq", "ne") else frozenset(value)
    if op in ("eq", "in"):
        return lambda actual: (
            # A single text, the common case, skips building the item list.
            actual != "" and actual.casefold() in members
            if type(actual) is str
            else _present(actual) and any(item in members for item in _items(actual))
        )
    return lambda actual: (
        actual != "" and actual.casefold() not in members
        if type(actual) is str
        else _present(actual) and not any(item in members for item in _items(actual))
    )


def _numeric_comparison(op: str, value: Any) -> Callable[[float], bool]:
    """A comparison of one number against the criterion's bound or bounds."""
    if op == "between":
        low, high = value
        return lambda number: low <= number <= high
    comparisons: dict[str, Callable[[float], bool]] = {
        "gt": lambda number: number > value,
        "gte": lambda number: number >= value,
        "lt": lambda number: number < value,
        "lte": lambda number: number <= value,
    }
    return comparisons[op]


def _present(actual: Any) -> bool:
    """Whether a value carries information: not null, not empty text or list."""
    if actual is None:
        return False
    if isinstance(actual, str | list | tuple | dict):
        return len(actual) > 0
    return True


def _items(actual: Any) -> Sequence[Any]:
    """The comparable elements of a value, text folded; a scalar is one element."""
    values = actual if isinstance(actual, list | tuple) else (actual,)
    return [item.casefold() if isinstance(item, str) else item for item in values]


def _any_number(actual: Any, compare: Callable[[float], bool]) -> bool:
    """Whether the value, or any element of it, is a number passing ``compare``."""
    values = actual if isinstance(actual, list | tuple) else (actual,)
    return any(
        number is not None and compare(number) for number in map(_number, values)
    )


def _number(value: Any) -> float | int | None:
    """A finite number from a number or numeric text; booleans are not numbers."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return value if math.isfinite(value) else None
    if isinstance(value, str) and len(value) <= 40:
        try:
            number = float(value.strip().replace(",", ""))
        except ValueError:
            return None
        return number if math.isfinite(number) else None
    return None


def _contains(actual: Any, value: Scalar) -> bool:
    """Substring for text, membership for lists."""
    if isinstance(actual, str):
        return isinstance(value, str) and value in actual.casefold()
    if isinstance(actual, list | tuple):
        return value in _items(actual)
    return False


def _show(value: Any) -> str:
    """A rule value as text: numbers without a needless ``.0``."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _show_actual(path: tuple[str, ...], actual: Any) -> str | None:
    """The observed value for a reason, or None when it could identify a person."""
    if actual is None or (path[0] == "identity" and path[1] in _PRIVATE_IDENTITY):
        return None
    values = actual if isinstance(actual, list | tuple) else [actual]
    if any(isinstance(item, str) and "@" in item for item in values):
        return None
    text = ", ".join(_show(item) for item in values[:10])
    return text if len(text) <= 80 else text[:77] + "..."
