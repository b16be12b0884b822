"""Tests for ASL timestamp parsing (``stepline.asl._timestamps``)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from stepline.asl._timestamps import parse_timestamp, timestamp_nanos

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2016-03-14T01:59:00Z", datetime(2016, 3, 14, 1, 59, 0, tzinfo=UTC)),
        ("2016-03-14T03:59:00+02:00", datetime(2016, 3, 14, 1, 59, 0, tzinfo=UTC)),
        ("2016-03-13T20:29:00-05:30", datetime(2016, 3, 14, 1, 59, 0, tzinfo=UTC)),
        ("2016-03-14T01:59:00-00:00", datetime(2016, 3, 14, 1, 59, 0, tzinfo=UTC)),
        ("2016-03-14T01:59:00.5Z", datetime(2016, 3, 14, 1, 59, 0, 500_000, tzinfo=UTC)),
        ("2016-03-14T01:59:00.123456Z", datetime(2016, 3, 14, 1, 59, 0, 123_456, tzinfo=UTC)),
        # Digits beyond microseconds are truncated, not rounded.
        ("2016-03-14T01:59:00.1234569Z", datetime(2016, 3, 14, 1, 59, 0, 123_456, tzinfo=UTC)),
        ("2024-02-29T23:59:59Z", datetime(2024, 2, 29, 23, 59, 59, tzinfo=UTC)),
        ("0001-01-01T00:00:00Z", datetime(1, 1, 1, tzinfo=UTC)),
        ("9999-12-31T23:59:59.999999Z", datetime(9999, 12, 31, 23, 59, 59, 999_999, tzinfo=UTC)),
    ],
)
def test_accepted_forms(text: str, expected: datetime) -> None:
    parsed = parse_timestamp(text)
    assert parsed == expected
    assert parsed is not None and parsed.tzinfo is not None


def test_the_written_offset_is_kept() -> None:
    parsed = parse_timestamp("2016-03-14T03:59:00+02:00")
    assert parsed is not None
    assert parsed.utcoffset() == timedelta(hours=2)
    assert parsed.hour == 3
    negative = parse_timestamp("2016-03-14T03:59:00-09:45")
    assert negative is not None
    assert negative.utcoffset() == -timedelta(hours=9, minutes=45)


@pytest.mark.parametrize(
    "text",
    [
        "2016-03-14t01:59:00Z",  # lowercase t
        "2016-03-14T01:59:00z",  # lowercase z
        "2016-03-14 01:59:00Z",  # space separator
        "2016-03-14T01:59:00",  # no offset
        "2016-03-14T01:59Z",  # no seconds
        "2016-03-14",  # date only
        "2016-03-14T01:59:00+0200",  # offset without colon
        "2016-03-14T01:59:00+02",  # offset without minutes
        "20160314T015900Z",  # basic format
        "2016-3-14T01:59:00Z",  # one-digit month
        "2016-03-14T1:59:00Z",  # one-digit hour
        "2016-03-14T24:00:00Z",
        "2016-03-14T23:60:00Z",
        "2016-12-31T23:59:60Z",  # leap second
        "2016-02-30T00:00:00Z",
        "2015-02-29T00:00:00Z",
        "2016-13-01T00:00:00Z",
        "2016-00-01T00:00:00Z",
        "0000-01-01T00:00:00Z",
        "2016-03-14T01:59:00+24:00",
        "2016-03-14T01:59:00+01:60",
        "2016-03-14T01:59:00.Z",  # dot without digits
        "2016-03-14T01:59:00,5Z",  # comma fraction
        "2016-03-14T01:59:00ZZ",
        "2016-03-14T01:59:00Z\n",  # a regex `$` would let this through
        " 2016-03-14T01:59:00Z",
        "+2016-03-14T01:59:00Z",
        "\u0662\u0660\u0661\u0666-03-14T01:59:00Z",  # Arabic-Indic digits
        "2016-03-14T01:59:00 Z",
        "",
    ],
)
def test_rejected_forms(text: str) -> None:
    assert parse_timestamp(text) is None
    assert timestamp_nanos(text) is None


@pytest.mark.parametrize("value", [None, 0, 1.5, True, [], {}, b"2016-03-14T01:59:00Z"])
def test_non_strings_are_not_timestamps(value: object) -> None:
    assert timestamp_nanos(value) is None
    assert parse_timestamp(value) is None  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("text", "nanos"),
    [
        ("1970-01-01T00:00:00Z", 0),
        ("1970-01-01T00:00:01Z", 1_000_000_000),
        ("1970-01-01T00:00:00.000000001Z", 1),
        ("1970-01-01T00:00:00.123456789Z", 123_456_789),
        ("1970-01-01T00:00:00.1234567891Z", 123_456_789),
        ("1970-01-01T01:00:00+01:00", 0),
        ("1969-12-31T23:59:59Z", -1_000_000_000),
        ("1969-12-31T19:00:00-05:00", 0),
        ("2016-03-14T01:59:00Z", 1_457_920_740 * 10**9),
    ],
)
def test_timestamp_nanos(text: str, nanos: int) -> None:
    assert timestamp_nanos(text) == nanos


def test_nanos_distinguish_what_datetime_cannot() -> None:
    first = "2016-03-14T01:59:00.0000001Z"
    second = "2016-03-14T01:59:00.0000002Z"
    assert parse_timestamp(first) == parse_timestamp(second)
    first_nanos = timestamp_nanos(first)
    second_nanos = timestamp_nanos(second)
    assert first_nanos is not None and second_nanos is not None
    assert second_nanos - first_nanos == 100


def test_extreme_offsets_do_not_overflow() -> None:
    assert timestamp_nanos("0001-01-01T00:00:00+23:59") is not None
    assert timestamp_nanos("9999-12-31T23:59:59-23:59") is not None
    low = parse_timestamp("0001-01-01T00:00:00+23:59")
    assert low is not None and low.year == 1


@st.composite
def aware_datetimes(draw: st.DrawFn) -> datetime:
    offset = draw(st.integers(min_value=-(23 * 60 + 59), max_value=23 * 60 + 59))
    naive = draw(
        st.datetimes(min_value=datetime(2, 1, 1), max_value=datetime(9998, 12, 31, 23, 59, 59))
    )
    return naive.replace(tzinfo=timezone(timedelta(minutes=offset)))


@given(aware_datetimes())
def test_round_trip_of_isoformat(moment: datetime) -> None:
    text = moment.isoformat()
    assert parse_timestamp(text) == moment
    nanos = timestamp_nanos(text)
    delta = moment - EPOCH
    expected = (delta.days * 86_400 + delta.seconds) * 10**9 + delta.microseconds * 1_000
    assert nanos == expected


@given(st.text())
def test_arbitrary_text_never_raises(text: str) -> None:
    parsed = parse_timestamp(text)
    nanos = timestamp_nanos(text)
    assert (parsed is None) == (nanos is None)
    if parsed is not None and nanos is not None:
        delta = parsed - EPOCH
        assert nanos // 1_000 == (delta.days * 86_400 + delta.seconds) * 10**6 + delta.microseconds


@given(
    st.from_regex(
        r"\A[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,12})?"
        r"(Z|[+-][0-9]{2}:[0-9]{2})\Z"
    )
)
def test_well_shaped_text_parses_or_is_out_of_range(text: str) -> None:
    parsed = parse_timestamp(text)
    if parsed is None:
        return
    # Everything accepted is within calendar range, and nanos agree with the datetime.
    nanos = timestamp_nanos(text)
    assert nanos is not None
    assert nanos // 1_000 == (parsed - EPOCH) // timedelta(microseconds=1)
