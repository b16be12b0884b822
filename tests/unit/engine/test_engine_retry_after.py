"""A task's ``retry_after`` hint (an HTTP ``Retry-After``) lengthens, never shortens, a retry."""

from __future__ import annotations

from typing import Any

from _engine_kit import failed, retry_gaps, run, single, succeeded, task

from stepline import StatesError


class Throttled:
    """Fails with ``Throttled`` and a retry-after hint ``hints[n]`` on call n, then succeeds."""

    def __init__(self, *hints: float | None) -> None:
        self.hints = list(hints)
        self.calls = 0

    def __call__(self, parameters: Any) -> Any:
        self.calls += 1
        if self.hints:
            raise StatesError("Throttled", "slow down", retry_after=self.hints.pop(0))
        return "ok"


def retrier(**fields: Any) -> dict[str, Any]:
    return {"ErrorEquals": ["Throttled"], "IntervalSeconds": 2, "MaxAttempts": 3, **fields}


def test_hint_longer_than_backoff_wins() -> None:
    work = Throttled(30, 30)
    result = run(single(task(Retry=[retrier()])), {}, {"work": work})
    assert succeeded(result) == "ok"
    assert retry_gaps(result) == [30, 30]


def test_hint_shorter_than_backoff_is_ignored() -> None:
    work = Throttled(0.5, 1, None)
    result = run(single(task(Retry=[retrier()])), {}, {"work": work})
    assert succeeded(result) == "ok"
    assert retry_gaps(result) == [2, 4, 8]


def test_hint_never_makes_an_error_retriable() -> None:
    work = Throttled(1)
    result = run(single(task(Retry=[{"ErrorEquals": ["Other"]}])), {}, {"work": work})
    failed(result, "Throttled")
    assert work.calls == 1


def test_hint_with_full_jitter_is_still_a_floor() -> None:
    work = Throttled(50, 50, 50)
    result = run(single(task(Retry=[retrier(JitterStrategy="FULL")])), {}, {"work": work})
    assert succeeded(result) == "ok"
    assert retry_gaps(result) == [50, 50, 50]
