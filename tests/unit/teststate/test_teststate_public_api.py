"""``stepline.teststate`` exports exactly its curated API, and pytest does not collect it."""

from __future__ import annotations

import stepline.teststate as teststate


def test_all_is_curated_and_importable() -> None:
    assert set(teststate.__all__) == {
        "DEFAULT_TIME_LIMIT_SECONDS",
        "TestStateError",
        "test_state",
        "test_state_async",
    }
    for name in teststate.__all__:
        assert getattr(teststate, name) is not None


def test_names_starting_with_test_are_not_pytest_tests() -> None:
    for name in ("TestStateError", "test_state", "test_state_async"):
        assert getattr(teststate, name).__test__ is False
