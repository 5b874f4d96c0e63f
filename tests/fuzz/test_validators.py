"""The validators answer every input with a value or an ApiError, never a crash.

The budget is small in CI (``UNSTUCK_FUZZ_EXAMPLES``, 200 by default); raise it to
run longer, e.g. ``UNSTUCK_FUZZ_EXAMPLES=20000 pytest tests/fuzz``.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ingest_gateway.body import parse_json
from ingest_gateway.errors import ApiError
from ingest_gateway.validation import validate_signal
from schemas.workspace import new_workspace

EXAMPLES = int(os.environ.get("UNSTUCK_FUZZ_EXAMPLES", "200"))
BUDGET = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
WORKSPACE, _ = new_workspace("fuzz")
NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)

scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text()
)
json_values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(st.text(max_size=12), inner, max_size=4)
    ),
    max_leaves=30,
)
instants = st.one_of(
    st.datetimes(timezones=st.timezones()).map(lambda d: d.isoformat()),
    st.text(max_size=40),
    st.integers(),
    st.sampled_from(["2026-06-01T12:00:00Z", "2026-06-01", "9999-12-31T23:59:59Z"]),
)
identities = st.one_of(
    json_values,
    st.fixed_dictionaries(
        {},
        optional={
            "email": st.one_of(st.emails().map(str), st.text(max_size=40), scalars),
            "linkedin_url": st.one_of(st.text(max_size=60), scalars),
            "company_domain": st.one_of(st.text(max_size=40), scalars),
            "first_name": st.one_of(st.text(max_size=20), scalars),
            "title": st.one_of(st.text(max_size=20), scalars),
        },
    ),
)
bodies = st.one_of(
    json_values,
    st.fixed_dictionaries(
        {},
        optional={
            "signal_type": st.one_of(
                st.sampled_from(["website_visit", "custom_event", "nope"]), scalars
            ),
            "source": st.one_of(st.text(max_size=20), scalars),
            "occurred_at": instants,
            "identity": identities,
            "event_name": st.one_of(st.text(max_size=20), scalars),
            "context": json_values,
            "idempotency_key": st.one_of(st.text(max_size=40), scalars),
        },
    ),
)


def _refusal(action: Callable[[], object]) -> int | None:
    """The status of the ApiError ``action`` raised, or None when it returned."""
    try:
        action()
    except ApiError as error:
        return error.status
    return None


def _is_refusal_or_none(status: int | None) -> bool:
    return status is None or 400 <= status < 500


def _validate(body: Any) -> None:
    validate_signal(
        body, WORKSPACE, now=NOW, max_future=timedelta(days=1), max_depth=32
    )


@BUDGET
@given(bodies)
def test_validate_signal_raises_only_api_errors(body: Any) -> None:
    """Any decoded body is accepted or refused with a 4xx ApiError."""
    status = _refusal(lambda: _validate(body))

    assert _is_refusal_or_none(status)


@BUDGET
@given(st.binary(max_size=512))
def test_parse_json_raises_only_api_errors_on_bytes(raw: bytes) -> None:
    """Arbitrary bytes parse or give a 4xx ApiError, nothing else."""
    status = _refusal(lambda: parse_json(raw))

    assert _is_refusal_or_none(status)


@BUDGET
@given(json_values, st.sampled_from(["", " ", "\ufeff", "\x00"]))
def test_parse_json_round_trips_or_refuses_serialized_values(
    value: Any, suffix: str
) -> None:
    """Serialized JSON (with NaN, odd whitespace or a BOM) parses or is a 4xx."""
    raw = (json.dumps(value) + suffix).encode("utf-8", "surrogatepass")
    status = _refusal(lambda: _validate(parse_json(raw)))

    assert _is_refusal_or_none(status)


@BUDGET
@given(st.integers(min_value=1, max_value=5000), st.sampled_from(["[", '{"a":']))
def test_deep_nesting_is_refused_not_crashed(depth: int, opener: str) -> None:
    """Deeply nested documents give a value or an ApiError, never RecursionError."""
    closer = "]" if opener == "[" else "}"
    raw = (opener * depth + "1" + closer * depth).encode()
    status = _refusal(lambda: _validate({"context": parse_json(raw)}))

    assert _is_refusal_or_none(status)
