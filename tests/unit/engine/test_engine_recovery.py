"""Retry and Catch against AWS semantics.

AWS references: developer guide "Handling errors in Step Functions workflows":
retriers are scanned in order and the first whose ``ErrorEquals`` matches applies (its own
attempt counter); ``MaxAttempts`` 0 never retries; delay = ``IntervalSeconds`` *
``BackoffRate``^(attempt-1) capped by ``MaxDelaySeconds``; ``JitterStrategy: FULL`` randomises
the delay between 0 and that value; ``States.TaskFailed`` matches any error except
``States.Timeout``; ``States.ALL`` matches any error but the terminal ``States.Runtime`` and
``States.DataLimitExceeded``; a catcher's ``ResultPath`` defaults to ``$`` (error output
replaces the input), ``null`` keeps the input.
"""

from __future__ import annotations

import random
from typing import Any

import pytest
from _engine_kit import (
    Recorder,
    Script,
    chain,
    events,
    failed,
    inner,
    retry_gaps,
    run,
    single,
    succeeded,
    task,
    types,
)

from stepline import StatesError


def with_catch(state: dict[str, Any], *catchers: dict[str, Any]) -> dict[str, Any]:
    """A definition: ``state`` (named T) with Catch routing to Pass states named after ``Next``."""
    states: dict[str, Any] = {"T": {**state, "Catch": list(catchers), "End": True}}
    for catcher in catchers:
        states[catcher["Next"]] = {"Type": "Pass", "End": True}
    return {"StartAt": "T", "States": states}


def fails(error: str, cause: str = "cause") -> Script:
    return Script(("raise", error, cause))


# ------------------------------------------------------------------------------------ Retry


def test_retry_then_succeed() -> None:
    script = Script(("raise", "Flaky", "1"), ("raise", "Flaky", "2"), ("return", "ok"))
    state = task(Retry=[{"ErrorEquals": ["Flaky"], "IntervalSeconds": 1, "MaxAttempts": 3}])
    result = run(single(state), {}, {"work": script})
    assert succeeded(result) == "ok"
    assert script.calls == 3
    assert types(result) == [
        "ExecutionStarted",
        "TaskStateEntered",
        "TaskScheduled",
        "TaskStarted",
        "TaskFailed",
        "TaskScheduled",
        "TaskStarted",
        "TaskFailed",
        "TaskScheduled",
        "TaskStarted",
        "TaskSucceeded",
        "TaskStateExited",
        "ExecutionSucceeded",
    ]


def test_retry_default_policy() -> None:
    """Defaults: IntervalSeconds 1, MaxAttempts 3, BackoffRate 2.0."""
    script = fails("Flaky")
    result = run(single(task(Retry=[{"ErrorEquals": ["Flaky"]}])), {}, {"work": script})
    failed(result, "Flaky")
    assert script.calls == 4
    assert retry_gaps(result) == [1, 2, 4]


def test_retry_backoff_and_max_delay() -> None:
    retrier = {
        "ErrorEquals": ["States.ALL"],
        "IntervalSeconds": 2,
        "BackoffRate": 3,
        "MaxAttempts": 4,
        "MaxDelaySeconds": 10,
    }
    result = run(single(task(Retry=[retrier])), {}, {"work": fails("E")})
    failed(result, "E")
    assert retry_gaps(result) == [2, 6, 10, 10]


def test_retry_fractional_backoff_rate() -> None:
    retrier = {"ErrorEquals": ["E"], "IntervalSeconds": 4, "BackoffRate": 1.5, "MaxAttempts": 3}
    result = run(single(task(Retry=[retrier])), {}, {"work": fails("E")})
    assert retry_gaps(result) == [4, 6, 9]


def test_retry_max_attempts_zero_never_retries() -> None:
    script = fails("E")
    state = task(Retry=[{"ErrorEquals": ["E"], "MaxAttempts": 0}])
    result = run(single(state), {}, {"work": script})
    failed(result, "E")
    assert script.calls == 1


def test_retry_first_matching_retrier_wins_even_when_exhausted() -> None:
    """The first matching retrier applies; once exhausted, later ones are not consulted."""
    script = fails("Specific")
    retry = [
        {"ErrorEquals": ["Specific"], "MaxAttempts": 1, "IntervalSeconds": 1},
        {"ErrorEquals": ["States.ALL"], "MaxAttempts": 5, "IntervalSeconds": 1},
    ]
    result = run(single(task(Retry=retry)), {}, {"work": script})
    failed(result, "Specific")
    assert script.calls == 2


def test_retry_unmatched_error_is_not_retried() -> None:
    script = fails("Other")
    result = run(single(task(Retry=[{"ErrorEquals": ["E"]}])), {}, {"work": script})
    failed(result, "Other")
    assert script.calls == 1


def test_retry_counters_are_per_retrier() -> None:
    script = Script(
        ("raise", "A", ""),
        ("raise", "B", ""),
        ("raise", "A", ""),
        ("return", "unreached"),
    )
    retry = [
        {"ErrorEquals": ["A"], "MaxAttempts": 1, "IntervalSeconds": 1},
        {"ErrorEquals": ["B"], "MaxAttempts": 1, "IntervalSeconds": 5},
    ]
    result = run(single(task(Retry=retry)), {}, {"work": script})
    failed(result, "A")
    assert script.calls == 3
    assert retry_gaps(result) == [1, 5]


def test_retry_backoff_uses_each_retriers_own_count() -> None:
    script = Script(("raise", "A", ""), ("raise", "B", ""), ("raise", "A", ""), ("return", 1))
    retry = [
        {"ErrorEquals": ["A"], "MaxAttempts": 2, "IntervalSeconds": 1, "BackoffRate": 10},
        {"ErrorEquals": ["B"], "MaxAttempts": 2, "IntervalSeconds": 3, "BackoffRate": 10},
    ]
    result = run(single(task(Retry=retry)), {}, {"work": script})
    assert succeeded(result) == 1
    # A's 1st retry: 1 s; B's 1st retry: 3 s; A's 2nd retry: 1 * 10 = 10 s.
    assert retry_gaps(result) == [1, 3, 10]


def test_retry_task_failed_wildcard() -> None:
    script = Script(("raise", "Anything", ""), ("return", "ok"))
    state = task(Retry=[{"ErrorEquals": ["States.TaskFailed"], "IntervalSeconds": 1}])
    assert succeeded(run(single(state), {}, {"work": script})) == "ok"


def test_retry_task_failed_does_not_match_timeout() -> None:
    script = Script(("raise", "States.Timeout", "too slow"), ("return", "ok"))
    state = task(Retry=[{"ErrorEquals": ["States.TaskFailed"], "IntervalSeconds": 1}])
    result = run(single(state), {}, {"work": script})
    failed(result, "States.Timeout")
    assert script.calls == 1


def test_retry_all_matches_timeout() -> None:
    script = Script(("raise", "States.Timeout", "too slow"), ("return", "ok"))
    state = task(Retry=[{"ErrorEquals": ["States.ALL"], "IntervalSeconds": 1}])
    assert succeeded(run(single(state), {}, {"work": script})) == "ok"


def test_jitter_full_delays_are_random_but_bounded_and_seeded() -> None:
    retrier = {
        "ErrorEquals": ["E"],
        "IntervalSeconds": 8,
        "BackoffRate": 2,
        "MaxAttempts": 5,
        "JitterStrategy": "FULL",
    }
    definition = single(task(Retry=[retrier]))
    first = retry_gaps(run(definition, {}, {"work": fails("E")}, rng=random.Random(7)))
    again = retry_gaps(run(definition, {}, {"work": fails("E")}, rng=random.Random(7)))
    other = retry_gaps(run(definition, {}, {"work": fails("E")}, rng=random.Random(8)))
    plain = [8, 16, 32, 64, 128]
    assert len(first) == 5
    assert all(0 <= got <= cap for got, cap in zip(first, plain, strict=True))
    assert first == again
    assert first != other
    assert first != plain


def test_jitter_respects_max_delay() -> None:
    retrier = {
        "ErrorEquals": ["E"],
        "IntervalSeconds": 10,
        "MaxAttempts": 6,
        "MaxDelaySeconds": 15,
        "JitterStrategy": "FULL",
    }
    gaps = retry_gaps(
        run(single(task(Retry=[retrier])), {}, {"work": fails("E")}, rng=random.Random(1))
    )
    assert len(gaps) == 6
    assert all(0 <= gap <= 15 for gap in gaps)


def test_retry_count_in_context_object() -> None:
    script = Script(("raise", "E", ""), ("raise", "E", ""), ("return", "ok"))
    state = task(Retry=[{"ErrorEquals": ["E"], "IntervalSeconds": 1}])
    succeeded(run(single(state), {}, {"work": script}))
    assert [ctx["State"]["RetryCount"] for ctx in script.contexts] == [0, 1, 2]


def test_retry_count_in_parameters() -> None:
    seen: list[Any] = []

    def handler(parameters: Any) -> Any:
        seen.append(parameters["attempt"])
        if len(seen) < 3:
            raise StatesError("E", "")
        return "ok"

    state = task(
        Parameters={"attempt.$": "$$.State.RetryCount"},
        Retry=[{"ErrorEquals": ["E"], "IntervalSeconds": 1}],
    )
    succeeded(run(single(state), {}, {"work": handler}))
    assert seen == [0, 1, 2]


def test_retry_count_resets_for_the_next_state() -> None:
    first = Script(("raise", "E", ""), ("return", 1))
    second = Script(("return", 2))
    retry = [{"ErrorEquals": ["E"], "IntervalSeconds": 1}]
    definition = chain(("A", task("a", Retry=retry)), ("B", task("b")))
    succeeded(run(definition, {}, {"a": first, "b": second}))
    assert second.contexts[0]["State"]["RetryCount"] == 0


def test_retry_on_parallel_reruns_the_state() -> None:
    script = Script(("raise", "Flaky", ""), ("return", "ok"))
    other = Recorder("other")
    state = {
        "Type": "Parallel",
        "Branches": [inner(task("flaky")), inner(task("other"))],
        "Retry": [{"ErrorEquals": ["Flaky"], "IntervalSeconds": 2}],
    }
    result = run(single(state), {"in": 1}, {"flaky": script, "other": other})
    assert succeeded(result) == ["ok", "other"]
    assert script.calls == 2
    assert other.calls == [{"in": 1}, {"in": 1}]  # the whole state ran again
    assert len(events(result, "ParallelStateStarted")) == 2
    flaky_scheduled = [
        e.timestamp for e in events(result, "TaskScheduled") if e.details["resource"] == "flaky"
    ]
    assert flaky_scheduled[1] - flaky_scheduled[0] == pytest.approx(2, abs=0.05)


def test_retry_on_map_reruns_the_state() -> None:
    script = Script(("raise", "Flaky", ""), ("return", "ok"))
    state = {
        "Type": "Map",
        "ItemProcessor": inner(task()),
        "Retry": [{"ErrorEquals": ["States.ALL"], "IntervalSeconds": 1}],
    }
    result = run(single(state), [1], {"work": script})
    assert succeeded(result) == ["ok"]
    assert len(events(result, "MapStateStarted")) == 2


# ------------------------------------------------------------------------------------ Catch


def test_catch_all_default_result_path_replaces_input() -> None:
    definition = with_catch(task(), {"ErrorEquals": ["States.ALL"], "Next": "Handler"})
    result = run(definition, {"a": 1}, {"work": fails("Boom", "bad thing")})
    assert succeeded(result) == {"Error": "Boom", "Cause": "bad thing"}
    assert types(result)[-4:] == [
        "TaskStateExited",
        "PassStateEntered",
        "PassStateExited",
        "ExecutionSucceeded",
    ]


def test_catch_result_path_merges_into_raw_input() -> None:
    state = task(InputPath="$.sub")
    definition = with_catch(
        state, {"ErrorEquals": ["Boom"], "ResultPath": "$.err", "Next": "Handler"}
    )
    result = run(definition, {"sub": {"x": 1}, "a": 1}, {"work": fails("Boom", "c")})
    assert succeeded(result) == {"sub": {"x": 1}, "a": 1, "err": {"Error": "Boom", "Cause": "c"}}


def test_catch_result_path_null_keeps_input() -> None:
    definition = with_catch(
        task(), {"ErrorEquals": ["Boom"], "ResultPath": None, "Next": "Handler"}
    )
    assert succeeded(run(definition, {"a": 1}, {"work": fails("Boom")})) == {"a": 1}


def test_catch_output_ignores_result_selector_and_output_path() -> None:
    state = task(ResultSelector={"x.$": "$.x"}, OutputPath="$.nothing")
    definition = with_catch(state, {"ErrorEquals": ["Boom"], "ResultPath": "$.e", "Next": "H"})
    result = run(definition, {"a": 1}, {"work": fails("Boom", "c")})
    assert succeeded(result) == {"a": 1, "e": {"Error": "Boom", "Cause": "c"}}


def test_catchers_are_tried_in_order() -> None:
    definition = with_catch(
        task(),
        {"ErrorEquals": ["Other"], "Next": "First"},
        {"ErrorEquals": ["Boom", "Also"], "Next": "Second"},
        {"ErrorEquals": ["States.ALL"], "Next": "Third"},
    )
    result = run(definition, {}, {"work": fails("Boom")})
    succeeded(result)
    assert events(result, "PassStateEntered")[0].details["name"] == "Second"


def test_catch_task_failed_matches_custom_errors() -> None:
    definition = with_catch(task(), {"ErrorEquals": ["States.TaskFailed"], "Next": "H"})
    out = succeeded(run(definition, {}, {"work": fails("AnyCustom", "x")}))
    assert out == {"Error": "AnyCustom", "Cause": "x"}


def test_catch_task_failed_does_not_match_timeout() -> None:
    definition = with_catch(
        task(),
        {"ErrorEquals": ["States.TaskFailed"], "Next": "TaskFailedHandler"},
        {"ErrorEquals": ["States.Timeout"], "Next": "TimeoutHandler"},
    )
    result = run(definition, {}, {"work": fails("States.Timeout", "slow")})
    succeeded(result)
    assert events(result, "PassStateEntered")[0].details["name"] == "TimeoutHandler"
    assert "TaskTimedOut" in types(result)


def test_catch_unmatched_error_fails_execution() -> None:
    definition = with_catch(task(), {"ErrorEquals": ["Other"], "Next": "H"})
    failed(run(definition, {}, {"work": fails("Boom", "x")}), "Boom", "x")


def test_catch_after_retries_exhausted() -> None:
    script = fails("Boom", "always")
    state = task(Retry=[{"ErrorEquals": ["Boom"], "MaxAttempts": 2, "IntervalSeconds": 1}])
    definition = with_catch(state, {"ErrorEquals": ["Boom"], "ResultPath": "$.e", "Next": "H"})
    result = run(definition, {"a": 1}, {"work": script})
    assert succeeded(result) == {"a": 1, "e": {"Error": "Boom", "Cause": "always"}}
    assert script.calls == 3
    assert types(result).count("TaskFailed") == 3
    assert retry_gaps(result) == [1, 2]


def test_runtime_error_not_caught_by_states_all_nor_retried() -> None:
    rec = Recorder("never")
    state = task(
        Parameters={"x.$": "$.missing"},
        Retry=[{"ErrorEquals": ["States.ALL"]}],
    )
    definition = with_catch(state, {"ErrorEquals": ["States.ALL"], "Next": "H"})
    result = run(definition, {}, {"work": rec})
    failed(result, "States.Runtime", "$.missing")
    assert rec.calls == []
    assert "TaskStateExited" not in types(result)


def test_runtime_error_raised_by_task_is_terminal() -> None:
    script = fails("States.Runtime", "broken")
    state = task(Retry=[{"ErrorEquals": ["States.ALL"]}])
    definition = with_catch(state, {"ErrorEquals": ["States.ALL"], "Next": "H"})
    result = run(definition, {}, {"work": script})
    failed(result, "States.Runtime", "broken")
    assert script.calls == 1


def test_data_limit_exceeded_not_caught_by_states_all_nor_retried() -> None:
    script = Script(("return", "x" * 500))
    state = task(Retry=[{"ErrorEquals": ["States.ALL"]}])
    definition = with_catch(state, {"ErrorEquals": ["States.ALL"], "Next": "H"})
    result = run(definition, {}, {"work": script}, max_payload_bytes=200)
    failed(result, "States.DataLimitExceeded")
    assert script.calls == 1


def test_catch_on_non_object_input_with_result_path_fails_cleanly() -> None:
    """The catcher's ResultPath cannot be applied to a string input: the run must end FAILED
    (AWS names this States.ResultPathMatchFailure), not raise out of ``run``."""
    definition = with_catch(
        task(), {"ErrorEquals": ["States.ALL"], "ResultPath": "$.e", "Next": "H"}
    )
    result = run(definition, "plain string", {"work": fails("Boom")})
    failed(result, "States.ResultPathMatchFailure")


@pytest.mark.parametrize(
    ("error", "catcher_errors", "caught"),
    [
        ("Custom", ["States.ALL"], True),
        ("States.Timeout", ["States.ALL"], True),
        ("States.HeartbeatTimeout", ["States.HeartbeatTimeout"], True),
        ("States.Permissions", ["States.TaskFailed"], True),
        ("Custom", ["custom"], False),  # names are case-sensitive
        ("Lambda.ServiceException", ["Lambda.ServiceException"], True),
    ],
)
def test_catch_matching_table(error: str, catcher_errors: list[str], caught: bool) -> None:
    definition = with_catch(task(), {"ErrorEquals": catcher_errors, "Next": "H"})
    result = run(definition, {}, {"work": fails(error, "c")})
    assert result.status == ("SUCCEEDED" if caught else "FAILED")
    if not caught:
        assert result.error == error
