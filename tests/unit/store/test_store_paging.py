"""Page tokens: round trip, tamper evidence, listing binding, 24-hour expiry; page sizes."""

from __future__ import annotations

import pytest

from stepline.store import InvalidPageToken
from stepline.store._paging import TOKEN_LIFETIME, PageTokens, page_size


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def test_round_trip_and_binding():
    tokens = PageTokens(b"k" * 32, Clock(1000.0))
    token = tokens.make("exec", ["state_machine_arn", "arn:x", None], [42])
    assert tokens.read(token, "exec", ["state_machine_arn", "arn:x", None]) == [42]
    with pytest.raises(InvalidPageToken, match="different listing"):
        tokens.read(token, "exec", ["state_machine_arn", "arn:x", "RUNNING"])
    with pytest.raises(InvalidPageToken, match="different listing"):
        tokens.read(token, "hist", ["state_machine_arn", "arn:x", None])
    other_key = PageTokens(b"o" * 32, Clock(1000.0))
    with pytest.raises(InvalidPageToken, match="altered"):
        other_key.read(token, "exec", ["state_machine_arn", "arn:x", None])


def test_expiry_after_24_hours():
    clock = Clock(1000.0)
    tokens = PageTokens(b"k" * 32, clock)
    token = tokens.make("sm", [], ["a"])
    clock.now += TOKEN_LIFETIME
    assert tokens.read(token, "sm", []) == ["a"]
    clock.now += 2
    with pytest.raises(InvalidPageToken, match="expired") as caught:
        tokens.read(token, "sm", [])
    assert "24 hours" in str(caught.value)


def test_page_sizes():
    assert page_size(0) == 100
    assert page_size(1) == 1
    assert page_size(1000) == 1000
    for bad in (-1, 1001):
        with pytest.raises(ValueError, match="between 0 and 1000"):
            page_size(bad)
