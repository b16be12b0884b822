"""Task outcomes: a retry-after hint sets a floor for the back-off; results are exact copies."""

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


# The task-result copy: orjson on the fast path, the exact decoder for wide integers.


def test_task_result_with_wide_integers_stays_exact() -> None:
    wide = {"id": 2**70 + 1, "small": 7, "ratio": 0.1}
    result = run(single(task()), {}, {"work": lambda parameters: wide})
    assert succeeded(result) == wide
    assert type(succeeded(result)["id"]) is int


def test_task_result_is_a_copy_the_handler_cannot_change_afterwards() -> None:
    kept: dict[str, Any] = {"items": [1]}

    def work(parameters: Any) -> Any:
        return kept

    result = run(single(task()), {}, {"work": work})
    kept["items"].append(2)
    assert succeeded(result) == {"items": [1]}
