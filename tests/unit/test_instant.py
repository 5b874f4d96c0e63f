"""Strict ``occurred_at`` parsing: the field cases B12 and B14 and their properties."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from schemas.instant import InstantError, epoch_micros, format_instant, parse_instant

NOW = datetime(2024, 5, 2, 9, 30, tzinfo=UTC)
NOON = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)

# B12 a-e: one instant written five ways; f is 1 ms later.
B12_SAME = [
    "2024-05-01T12:00:00Z",
    "2024-05-01T12:00:00.000Z",
    "2024-05-01T12:00:00+00:00",
    "2024-05-01T14:00:00+02:00",
    "2024-05-01T12:00:00.0000001Z",
]
B12_LATER = "2024-05-01T12:00:00.001Z"

# B14 a-b: unrepresentable instants.
B14_UNREPRESENTABLE = ["10013-12-10T01:09:46Z", "9999-12-31T23:59:59-01:00"]

# A loaded CI machine must not turn one slow example into a failure.
relaxed = settings(deadline=None)


def _parse(raw: object) -> datetime:
    """Parse against the fixed clock of these tests."""
    return parse_instant(raw, now=NOW)


def test_b12_spellings_of_one_instant_meet() -> None:
    """B12 a-e: Z, .000Z, +00:00, +02:00 and a 7th digit give one instant."""
    actual = {_parse(raw) for raw in B12_SAME}

    assert actual == {NOON}


def test_b12_one_millisecond_later_is_another_instant() -> None:
    """B12 f: 1 ms is kept, so precision is not over-truncated."""
    actual = _parse(B12_LATER)

    assert actual == NOON + timedelta(milliseconds=1)


def test_b12_stored_form() -> None:
    """B12: the first event is stored as 2024-05-01T12:00:00+00:00."""
    actual = format_instant(_parse(B12_SAME[0]))

    assert actual == "2024-05-01T12:00:00+00:00"


def test_extra_fraction_digits_truncate_not_round() -> None:
    """Digits past the microsecond are cut, never rounded up into the next one."""
    actual = _parse("2024-05-01T12:00:00.1234569Z")

    assert actual == NOON.replace(microsecond=123456)


def test_format_shows_microseconds_only_when_present() -> None:
    """Stored text carries microseconds when the instant has them."""
    actual = format_instant(_parse("2024-05-01T14:00:00.5+02:00"))

    assert actual == "2024-05-01T12:00:00.500000+00:00"


def test_lowercase_z_and_t_mean_the_same() -> None:
    """RFC 3339 allows lowercase t and z."""
    actual = _parse("2024-05-01t12:00:00z")

    assert actual == NOON


@pytest.mark.parametrize("raw", B14_UNREPRESENTABLE)
def test_b14_unrepresentable_instants_name_the_field(raw: str) -> None:
    """B14 a-b: year 10013 and a UTC overflow are a clean InstantError."""
    with pytest.raises(InstantError) as caught:
        _parse(raw)

    assert caught.value.field == "occurred_at"


def test_b14_far_future_is_refused_saying_so() -> None:
    """B14 c: now+14d is refused as too far in the future."""
    raw = format_instant(NOW + timedelta(days=14))

    with pytest.raises(InstantError) as caught:
        _parse(raw)

    assert "future" in caught.value.message


def test_b14_small_clock_skew_is_accepted() -> None:
    """B14 d: now+30s is within the tolerance."""
    expected = NOW + timedelta(seconds=30)

    actual = _parse(format_instant(expected))

    assert expected == actual


def test_future_limit_is_configurable() -> None:
    """The gateway's setting moves the future limit."""
    raw = format_instant(NOW + timedelta(minutes=10))

    with pytest.raises(InstantError):
        parse_instant(raw, now=NOW, max_future=timedelta(minutes=5))


@pytest.mark.parametrize(
    "raw",
    [
        "2024-05-01T12:00:00",
        "2024-05-01",
        "2024-05-01T12:00Z",
        "2024-05-01T12:00:00.Z",
        "2024-05-01T12:00:00+0200",
        "2024-05-01T12:00:00+24:00",
        "2024-05-01T12:00:00+02:60",
        "2024-02-30T12:00:00Z",
        "2024-05-01T24:00:00Z",
        "2016-12-31T23:59:60Z",
        "0000-01-01T00:00:00Z",
        "0001-01-01T00:00:00+01:00",
        "2024-W18-3T12:00:00Z",
        "\uff12\uff10\uff12\uff14-05-01T12:00:00Z",
        " 2024-05-01T12:00:00Z",
        "2024-05-01T12:00:00Z\u0000",
        "2024-05-01T12:00:00." + "0" * 100 + "Z",
        "",
        1714564800,
        None,
    ],
)
def test_malformed_values_are_instant_errors(raw: object) -> None:
    """No offset, date only, impossible fields, numbers: InstantError, nothing else."""
    with pytest.raises(InstantError):
        _parse(raw)


def test_naive_clock_is_a_programming_error() -> None:
    """A naive ``now`` cannot be compared to an instant, so it fails loudly."""
    with pytest.raises(TypeError):
        parse_instant("2024-05-01T12:00:00Z", now=datetime(2024, 5, 2))


def test_epoch_micros_is_exact() -> None:
    """The Avro timestamp-micros value of an instant loses nothing."""
    actual = epoch_micros(_parse("2024-05-01T12:00:00.000001Z"))

    assert actual == 1714564800000001


instants = st.datetimes(
    min_value=datetime(1900, 1, 1),
    max_value=datetime(2100, 1, 1),
    timezones=st.just(UTC),
)
offsets = st.integers(min_value=-(23 * 60 + 59), max_value=23 * 60 + 59)


def _spell(instant: datetime, offset_minutes: int, zulu: str, extra: str) -> str:
    """Write ``instant`` in a given offset with optional sub-microsecond digits."""
    local = instant + timedelta(minutes=offset_minutes)
    sign = "-" if offset_minutes < 0 else "+"
    hours, minutes = divmod(abs(offset_minutes), 60)
    suffix = zulu if offset_minutes == 0 else f"{sign}{hours:02}:{minutes:02}"
    text = local.strftime("%Y-%m-%dT%H:%M:%S")
    return f"{text}.{local.microsecond:06}{extra}{suffix}"


@relaxed
@given(
    instants,
    offsets,
    st.sampled_from(["Z", "z", "+00:00", "-00:00"]),
    st.text("0123456789", max_size=6),
)
def test_any_spelling_parses_to_the_instant(
    instant: datetime, offset_minutes: int, zulu: str, extra: str
) -> None:
    """Offset, Z spelling and sub-microsecond digits never change the instant."""
    raw = _spell(instant, offset_minutes, zulu, extra)

    actual = parse_instant(raw, now=datetime(2100, 1, 2, tzinfo=UTC))

    assert actual == instant


@relaxed
@given(instants)
def test_format_then_parse_round_trips(instant: datetime) -> None:
    """The stored text of an instant reads back as the same instant."""
    actual = parse_instant(
        format_instant(instant), now=datetime(2100, 1, 2, tzinfo=UTC)
    )

    assert actual == instant


near_timestamps = st.from_regex(
    r"[0-9]{4,5}-[0-9]{2}-[0-9]{2}[Tt ][0-9]{2}:[0-9]{2}:[0-9]{2}"
    r"(\.[0-9]{1,9})?([Zz]|[+-][0-9]{2}:[0-9]{2})",
    fullmatch=True,
)


@relaxed
@given(st.one_of(st.text(max_size=40), near_timestamps))
def test_arbitrary_text_never_escapes_as_another_error(raw: str) -> None:
    """Any text either parses to an aware UTC instant or is an InstantError."""
    try:
        actual = _parse(raw)
    except InstantError:
        return

    assert actual.utcoffset() == timedelta(0)
