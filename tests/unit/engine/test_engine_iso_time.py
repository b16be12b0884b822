"""``iso_time`` (the ``$$`` timestamps) formats exactly as ``datetime`` would, cache or not."""

from __future__ import annotations

from datetime import UTC, datetime

from hypothesis import given
from hypothesis import strategies as st

from stepline.engine._execution import iso_time


def reference(timestamp: float) -> str:
    moment = datetime.fromtimestamp(timestamp, UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


@given(st.floats(min_value=0, max_value=4e9, allow_nan=False))
def test_matches_datetime_for_any_time(timestamp: float) -> None:
    assert iso_time(timestamp) == reference(timestamp)


@given(st.integers(min_value=1_600_000_000, max_value=1_900_000_000), st.integers(-9, 9))
def test_matches_datetime_next_to_a_second_boundary(second: int, tenth_micros: int) -> None:
    timestamp = second + 0.9999995 + tenth_micros * 1e-7
    assert iso_time(timestamp) == reference(timestamp)


def test_same_second_uses_the_cached_date_but_its_own_milliseconds() -> None:
    assert iso_time(1_700_000_000.001) == "2023-11-14T22:13:20.001Z"
    assert iso_time(1_700_000_000.999) == "2023-11-14T22:13:20.999Z"
    assert iso_time(1_700_000_001.0) == "2023-11-14T22:13:21.000Z"
