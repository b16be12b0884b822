"""Definition validation: Retry, Catch, and Task timeouts and heartbeats."""

from __future__ import annotations

from typing import Any

import pytest

from stepline.asl._validate import validate_definition

TASK_RESOURCE = "arn:aws:states:::lambda:invoke"


def errors(definition: Any) -> list[tuple[str, str]]:
    """(code, location) of every ERROR, in order."""
    return [(d.code, d.location) for d in validate_definition(definition) if d.severity == "ERROR"]


def task(**fields: Any) -> dict[str, Any]:
    """A machine with one Task ``A`` (plus ``Recover`` when a Catch needs a target)."""
    return {
        "StartAt": "A",
        "States": {
            "A": {"Type": "Task", "Resource": TASK_RESOURCE, "Next": "Recover", **fields},
            "Recover": {"Type": "Succeed"},
        },
    }


def retry(*retriers: Any) -> dict[str, Any]:
    return task(Retry=list(retriers))


def catch(*catchers: Any) -> dict[str, Any]:
    return task(Catch=list(catchers))


# --- Retry ----------------------------------------------------------------------------------


def test_a_complete_retrier_is_valid() -> None:
    definition = retry(
        {
            "ErrorEquals": ["States.Timeout", "States.TaskFailed"],
            "IntervalSeconds": 3,
            "MaxAttempts": 0,
            "BackoffRate": 1,
            "MaxDelaySeconds": 31_622_400,
            "JitterStrategy": "NONE",
            "Comment": "transient",
        },
        {"ErrorEquals": ["States.ALL"]},
    )
    assert validate_definition(definition) == []


def test_an_empty_retry_is_accepted() -> None:
    # AWS accepts "Retry": [] (localstack#9715 was about refusing it).
    assert errors(retry()) == []


@pytest.mark.parametrize("value", [{}, "States.ALL", None])
def test_retry_must_be_an_array(value: Any) -> None:
    assert errors(task(Retry=value)) == [("SCHEMA_VALIDATION_FAILED", "/States/A/Retry")]


def test_a_retrier_must_be_an_object() -> None:
    assert errors(retry(["States.ALL"])) == [("SCHEMA_VALIDATION_FAILED", "/States/A/Retry/0")]


def test_a_retrier_needs_error_equals() -> None:
    found = validate_definition(retry({"MaxAttempts": 2}))
    assert [(d.code, d.location) for d in found] == [
        ("SCHEMA_VALIDATION_FAILED", "/States/A/Retry/0")
    ]
    assert "[ErrorEquals]" in found[0].message


@pytest.mark.parametrize("names", [[], "States.ALL", None])
def test_error_equals_must_be_a_non_empty_array(names: Any) -> None:
    assert errors(retry({"ErrorEquals": names})) == [
        ("SCHEMA_VALIDATION_FAILED", "/States/A/Retry/0/ErrorEquals")
    ]


@pytest.mark.parametrize("name", ["", 5, None])
def test_error_names_must_be_non_empty_strings(name: Any) -> None:
    assert errors(retry({"ErrorEquals": ["Timeout", name]})) == [
        ("SCHEMA_VALIDATION_FAILED", "/States/A/Retry/0/ErrorEquals/1")
    ]


def test_states_all_must_be_alone_in_its_error_equals() -> None:
    found = validate_definition(retry({"ErrorEquals": ["MyError", "States.ALL"]}))
    assert [(d.code, d.location) for d in found] == [
        ("SCHEMA_VALIDATION_FAILED", "/States/A/Retry/0/ErrorEquals")
    ]
    assert "only name" in found[0].message


def test_states_all_must_be_in_the_last_retrier() -> None:
    found = validate_definition(
        retry({"ErrorEquals": ["States.ALL"]}, {"ErrorEquals": ["MyError"]})
    )
    assert [(d.code, d.location) for d in found] == [
        ("SCHEMA_VALIDATION_FAILED", "/States/A/Retry/0/ErrorEquals")
    ]
    assert "must be the last one in Retry" in found[0].message


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("IntervalSeconds", 0),
        ("IntervalSeconds", 1.5),
        ("IntervalSeconds", "1"),
        ("IntervalSeconds", 100_000_000),
        ("MaxAttempts", -1),
        ("MaxAttempts", True),
        ("MaxAttempts", 2.5),
        ("BackoffRate", 0.5),
        ("BackoffRate", 0),
        ("BackoffRate", "2"),
        ("BackoffRate", False),
        ("BackoffRate", None),
        ("MaxDelaySeconds", 0),
        ("MaxDelaySeconds", 31_622_401),
        ("JitterStrategy", "full"),
        ("JitterStrategy", "EQUAL"),
        ("Comment", 1),
    ],
)
def test_retrier_values_out_of_range_are_errors_at_the_field(field: str, value: Any) -> None:
    assert errors(retry({"ErrorEquals": ["E"], field: value})) == [
        ("SCHEMA_VALIDATION_FAILED", f"/States/A/Retry/0/{field}")
    ]


def test_backoff_rate_message_says_what_to_write() -> None:
    (found,) = validate_definition(retry({"ErrorEquals": ["E"], "BackoffRate": 0.5}))
    assert found.message == "BackoffRate must be a number ≥ 1.0, got 0.5."


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("IntervalSeconds", 1),
        ("IntervalSeconds", 99_999_999),
        ("MaxAttempts", 0),
        ("BackoffRate", 1.0),
        ("BackoffRate", 1.5),
        ("BackoffRate", 3),
        ("MaxDelaySeconds", 1),
        ("JitterStrategy", "FULL"),
    ],
)
def test_retrier_values_in_range_are_accepted(field: str, value: Any) -> None:
    assert errors(retry({"ErrorEquals": ["E"], field: value})) == []


def test_unknown_retrier_fields_are_errors() -> None:
    assert errors(retry({"ErrorEquals": ["E"], "Interval": 5})) == [
        ("SCHEMA_VALIDATION_FAILED", "/States/A/Retry/0/Interval")
    ]


@pytest.mark.parametrize("state_type", ["Parallel", "Map"])
def test_parallel_and_map_may_retry_and_catch(state_type: str) -> None:
    body: dict[str, Any] = {"Type": state_type, "Next": "Recover"}
    if state_type == "Parallel":
        body["Branches"] = [{"StartAt": "B", "States": {"B": {"Type": "Succeed"}}}]
    else:
        body["ItemProcessor"] = {"StartAt": "B", "States": {"B": {"Type": "Succeed"}}}
    body["Retry"] = [{"ErrorEquals": ["States.ALL"], "MaxAttempts": 1}]
    body["Catch"] = [{"ErrorEquals": ["States.ALL"], "Next": "Recover"}]
    definition = {"StartAt": "A", "States": {"A": body, "Recover": {"Type": "Succeed"}}}
    assert validate_definition(definition) == []


# --- Catch ------------------------------------------------------------------------------------


def test_a_complete_catcher_is_valid() -> None:
    definition = catch(
        {"ErrorEquals": ["States.Timeout"], "Next": "Recover", "ResultPath": None, "Comment": "t"},
        {"ErrorEquals": ["States.ALL"], "Next": "Recover", "ResultPath": "$.error"},
    )
    assert validate_definition(definition) == []


def test_catch_must_be_an_array() -> None:
    assert errors(task(Catch={"ErrorEquals": ["E"], "Next": "Recover"})) == [
        ("SCHEMA_VALIDATION_FAILED", "/States/A/Catch")
    ]


def test_a_catcher_needs_error_equals_and_next() -> None:
    found = validate_definition(catch({"ResultPath": "$.e"}))
    assert [(d.code, d.location) for d in found] == [
        ("SCHEMA_VALIDATION_FAILED", "/States/A/Catch/0")
    ]
    assert "[ErrorEquals, Next]" in found[0].message


@pytest.mark.parametrize("target", [5, "", None])
def test_catcher_next_must_be_a_non_empty_string(target: Any) -> None:
    assert errors(catch({"ErrorEquals": ["E"], "Next": target})) == [
        ("SCHEMA_VALIDATION_FAILED", "/States/A/Catch/0/Next")
    ]


def test_catcher_next_must_name_a_state() -> None:
    assert errors(catch({"ErrorEquals": ["E"], "Next": "Elsewhere"})) == [
        ("MISSING_TRANSITION_TARGET", "/States/A/Catch/0/Next")
    ]


@pytest.mark.parametrize(
    ("path", "code"),
    [("$$.Execution", "SCHEMA_VALIDATION_FAILED"), ("$.e[*]", "INVALID_JSON_PATH")],
)
def test_catcher_result_path_is_a_writable_reference_path(path: str, code: str) -> None:
    assert errors(catch({"ErrorEquals": ["E"], "Next": "Recover", "ResultPath": path})) == [
        (code, "/States/A/Catch/0/ResultPath")
    ]


def test_states_all_must_be_alone_and_last_in_catch() -> None:
    definition = catch(
        {"ErrorEquals": ["States.ALL", "E"], "Next": "Recover"},
        {"ErrorEquals": ["F"], "Next": "Recover"},
    )
    assert errors(definition) == [
        ("SCHEMA_VALIDATION_FAILED", "/States/A/Catch/0/ErrorEquals"),
        ("SCHEMA_VALIDATION_FAILED", "/States/A/Catch/0/ErrorEquals"),
    ]


def test_unknown_catcher_fields_are_errors() -> None:
    assert errors(catch({"ErrorEquals": ["E"], "Next": "Recover", "MaxAttempts": 1})) == [
        ("SCHEMA_VALIDATION_FAILED", "/States/A/Catch/0/MaxAttempts")
    ]


def test_catch_output_is_jsonata_only_and_assign_is_allowed() -> None:
    definition = catch({"ErrorEquals": ["E"], "Next": "Recover", "Output": {}, "Assign": {}})
    assert errors(definition) == [("SCHEMA_VALIDATION_FAILED", "/States/A/Catch/0/Output")]


# --- Task timeouts and heartbeats ---------------------------------------------------------


@pytest.mark.parametrize("field", ["TimeoutSeconds", "HeartbeatSeconds"])
@pytest.mark.parametrize("value", [0, -1, 2.5, "10", True, 100_000_000])
def test_task_seconds_must_be_positive_integers(field: str, value: Any) -> None:
    assert errors(task(**{field: value})) == [("SCHEMA_VALIDATION_FAILED", f"/States/A/{field}")]


@pytest.mark.parametrize(
    ("static", "dynamic"),
    [("TimeoutSeconds", "TimeoutSecondsPath"), ("HeartbeatSeconds", "HeartbeatSecondsPath")],
)
def test_task_static_and_path_seconds_exclude_each_other(static: str, dynamic: str) -> None:
    assert errors(task(**{static: 30, dynamic: "$.s"})) == [
        ("SCHEMA_VALIDATION_FAILED", f"/States/A/{dynamic}")
    ]


@pytest.mark.parametrize("field", ["TimeoutSecondsPath", "HeartbeatSecondsPath"])
def test_task_seconds_paths_must_be_reference_paths(field: str) -> None:
    assert errors(task(**{field: "$.t[*]"})) == [("INVALID_JSON_PATH", f"/States/A/{field}")]


@pytest.mark.parametrize("heartbeat", [60, 61])
def test_heartbeat_must_be_shorter_than_timeout(heartbeat: int) -> None:
    found = validate_definition(task(TimeoutSeconds=60, HeartbeatSeconds=heartbeat))
    assert [(d.code, d.location) for d in found] == [
        ("SCHEMA_VALIDATION_FAILED", "/States/A/HeartbeatSeconds")
    ]
    assert f"HeartbeatSeconds ({heartbeat}) must be smaller than TimeoutSeconds (60)" in (
        found[0].message
    )


def test_heartbeat_shorter_than_timeout_is_valid() -> None:
    assert errors(task(TimeoutSeconds=60, HeartbeatSeconds=59)) == []


def test_dynamic_timeouts_are_not_compared() -> None:
    assert errors(task(TimeoutSecondsPath="$.t", HeartbeatSeconds=600)) == []
