"""Misbehaving endpoints: flaky, hanging, error statuses, huge and binary bodies.

Each failure must surface with AWS's error name so that ``Retry`` and ``Catch`` written for AWS
behave the same. Back-offs run on a :class:`VirtualClock`, so their lengths are read from the
history's (virtual) timestamps, never measured.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from _live_http_kit import details, events, http_state, http_task, loopback_settings, one_task
from _live_http_kit import retry_gaps as gaps_of

from stepline import StateMachine, VirtualClock
from stepline.connections import Connections
from stepline.tasks import HttpTask
from support.fake_apis import FakeApis

RETRYABLE = ["States.Http.StatusCode.503", "States.Http.Socket"]


def _key_connection() -> tuple[Connections, str]:
    connections = Connections()
    arn = connections.create_api_key("Probe", "X-Probe-Key", "probe-key-value")
    return connections, arn


def _run(definition: dict[str, Any], http: HttpTask, execution_input: Any = None) -> Any:
    machine = StateMachine(definition, http=http, clock=VirtualClock())
    return machine.run({} if execution_input is None else execution_input)


@pytest.mark.parametrize("jitter", ["NONE", "FULL"])
def test_flaky_endpoint_succeeds_on_the_third_attempt(apis: FakeApis, jitter: str) -> None:
    connections, arn = _key_connection()
    retry = {
        "ErrorEquals": RETRYABLE,
        "IntervalSeconds": 1,
        "BackoffRate": 2.0,
        "MaxAttempts": 3,
        "JitterStrategy": jitter,
    }
    definition = one_task(
        http_state(
            f"{apis.base_url}/flaky/{jitter}", arn, Retry=[retry], OutputPath="$.ResponseBody"
        )
    )

    result = _run(definition, http_task(connections))

    assert result.status == "SUCCEEDED", result.cause
    assert result.output == {"attempt": 3}
    assert len(events(result, "TaskScheduled")) == 3
    failures = [details(e) for e in events(result, "TaskFailed")]
    assert [(f["error"], f["cause"]) for f in failures] == [
        ("States.Http.StatusCode.503", "Service Unavailable")
    ] * 2
    gaps = gaps_of(result)
    assert len(gaps) == 2
    if jitter == "NONE":
        assert gaps == [pytest.approx(1.0), pytest.approx(2.0)]
    else:
        assert 0 <= gaps[0] <= 1.0
        assert 0 <= gaps[1] <= 2.0


def test_hanging_endpoint_hits_the_http_limit_as_socket_error(apis: FakeApis) -> None:
    connections, arn = _key_connection()
    definition = one_task(
        http_state(
            f"{apis.base_url}/hang",
            arn,
            Catch=[{"ErrorEquals": ["States.Http.Socket"], "Next": "GaveUp"}],
        ),
        GaveUp={"Type": "Pass", "End": True},
    )
    http = http_task(connections, settings=loopback_settings(timeout_seconds=0.5))

    result = _run(definition, http)

    assert result.status == "SUCCEEDED"
    assert result.output["Error"] == "States.Http.Socket"
    assert "0.5 seconds" in result.output["Cause"]
    assert [details(e)["error"] for e in events(result, "TaskFailed")] == ["States.Http.Socket"]


@pytest.mark.parametrize(
    ("state_timeout", "http_limit", "expected"),
    [
        # The state's TimeoutSeconds is shorter than the HTTP limit: the engine's timer fires.
        (1, 5.0, "States.Timeout"),
        # The HTTP limit is shorter: the transport gives up first, as a socket error.
        (3, 0.5, "States.Http.Socket"),
    ],
)
def test_state_timeout_against_http_limit(
    apis: FakeApis, state_timeout: int, http_limit: float, expected: str
) -> None:
    connections, arn = _key_connection()
    catch = [{"ErrorEquals": [expected], "ResultPath": "$.failure", "Next": "Handled"}]
    definition = one_task(
        http_state(f"{apis.base_url}/hang", arn, TimeoutSeconds=state_timeout, Catch=catch),
        Handled={"Type": "Pass", "End": True},
    )
    http = http_task(connections, settings=loopback_settings(timeout_seconds=http_limit))

    result = _run(definition, http)

    assert result.status == "SUCCEEDED", (result.error, result.cause)
    assert result.output["failure"]["Error"] == expected
    kind = "TaskTimedOut" if expected == "States.Timeout" else "TaskFailed"
    assert [details(e)["error"] for e in events(result, kind)] == [expected]


@pytest.mark.parametrize(
    ("status", "branch", "reason"),
    [
        (404, "NotFound", "Not Found"),
        (429, "Throttled", "Too Many Requests"),
        (503, "Down", "Service Unavailable"),
    ],
)
def test_error_statuses_are_caught_by_their_exact_names(
    apis: FakeApis, status: int, branch: str, reason: str
) -> None:
    connections, arn = _key_connection()
    catch = [
        {"ErrorEquals": ["States.Http.StatusCode.404"], "Next": "NotFound"},
        {"ErrorEquals": ["States.Http.StatusCode.429"], "Next": "Throttled"},
        {"ErrorEquals": ["States.Http.StatusCode.503"], "Next": "Down"},
    ]
    branches = {
        name: {
            "Type": "Pass",
            "Parameters": {"branch": name, "error.$": "$.Error", "cause.$": "$.Cause"},
            "End": True,
        }
        for name in ("NotFound", "Throttled", "Down")
    }
    definition = one_task(
        http_state(f"{apis.base_url}/status/{status}", arn, Catch=catch), **branches
    )

    result = _run(definition, http_task(connections))

    assert result.output == {
        "branch": branch,
        "error": f"States.Http.StatusCode.{status}",
        "cause": reason,
    }


def test_a_catcher_for_404_does_not_catch_429(apis: FakeApis) -> None:
    connections, arn = _key_connection()
    definition = one_task(
        http_state(
            f"{apis.base_url}/status/429",
            arn,
            Catch=[{"ErrorEquals": ["States.Http.StatusCode.404"], "Next": "NotFound"}],
        ),
        NotFound={"Type": "Pass", "End": True},
    )

    result = _run(definition, http_task(connections))

    assert (result.status, result.error, result.cause) == (
        "FAILED",
        "States.Http.StatusCode.429",
        "Too Many Requests",
    )


@pytest.mark.parametrize("honour", [True, False])
def test_retry_after_on_429_is_honoured_only_when_enabled(apis: FakeApis, honour: bool) -> None:
    connections, arn = _key_connection()
    retry = {"ErrorEquals": ["States.Http.StatusCode.429"], "IntervalSeconds": 1, "MaxAttempts": 2}
    definition = one_task(http_state(f"{apis.base_url}/status/429", arn, Retry=[retry]))
    http = http_task(connections, honour_retry_after=honour)

    result = _run(definition, http)

    assert result.error == "States.Http.StatusCode.429"
    assert len(apis.recorded("/status/429")) == 3
    gaps = gaps_of(result)
    assert len(gaps) == 2
    if honour:
        # The fake sends Retry-After: 7; the Retry alone would wait 1 s, then 2 s.
        assert all(gap >= 7 for gap in gaps), gaps
    else:
        assert gaps == [pytest.approx(1.0), pytest.approx(2.0)]


def test_huge_body_is_data_limit_exceeded_and_not_caught_by_states_all(apis: FakeApis) -> None:
    connections, arn = _key_connection()
    definition = one_task(
        http_state(
            f"{apis.base_url}/huge",
            arn,
            Catch=[{"ErrorEquals": ["States.ALL"], "Next": "Caught"}],
        ),
        Caught={"Type": "Pass", "End": True},
    )

    result = _run(definition, http_task(connections))

    assert (result.status, result.error) == ("FAILED", "States.DataLimitExceeded")
    assert "262144 bytes" in (result.cause or "")
    entered = [details(e)["name"] for e in result.history_events() if "StateEntered" in e["type"]]
    assert entered == ["Call"]


def test_binary_body_is_a_runtime_error_not_caught_by_states_all(apis: FakeApis) -> None:
    connections, arn = _key_connection()
    definition = one_task(
        http_state(
            f"{apis.base_url}/binary",
            arn,
            Catch=[{"ErrorEquals": ["States.ALL"], "Next": "Caught"}],
        ),
        Caught={"Type": "Pass", "End": True},
    )

    result = _run(definition, http_task(connections))

    assert (result.status, result.error) == ("FAILED", "States.Runtime")
    assert "image/png" in (result.cause or "")
    assert json.dumps(result.history_events(), default=str).count("ExecutionFailed") == 1
