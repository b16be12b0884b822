"""Definition validation: the top level, JSON text, state names, the graph, and valid machines.

Per-type field rules are in ``test_validate_states.py``, Retry/Catch/timeouts in
``test_validate_recovery.py``, Map and Parallel in ``test_validate_map.py``, properties over
generated definitions in ``test_validate_properties.py``.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest

from stepline.asl._compile import compile_definition
from stepline.asl._diagnostics import Diagnostic
from stepline.asl._validate import MAX_NESTING_DEPTH, validate_definition


def errors(definition: Any, **options: Any) -> list[tuple[str, str]]:
    """(code, location) of every ERROR, in order."""
    return [
        (d.code, d.location)
        for d in validate_definition(definition, **options)
        if d.severity == "ERROR"
    ]


def one_error(definition: Any, **options: Any) -> Diagnostic:
    """The only diagnostic of ``definition`` (fails if there are others, warnings included)."""
    found = validate_definition(definition, **options)
    assert len(found) == 1, found
    return found[0]


def machine(states: dict[str, Any], start: str = "A", **top: Any) -> dict[str, Any]:
    return {"StartAt": start, "States": states, **top}


PASS_END = {"Type": "Pass", "End": True}


# --- valid, real-world definitions: no diagnostic at all ---------------------------------

HELLO_LAMBDA = {
    "Comment": "A Hello World example of the Amazon States Language using an AWS Lambda function",
    "StartAt": "HelloWorld",
    "States": {
        "HelloWorld": {
            "Type": "Task",
            "Resource": "arn:aws:lambda:us-east-1:123456789012:function:HelloFunction",
            "Retry": [
                {
                    "ErrorEquals": ["Lambda.ServiceException", "Lambda.TooManyRequestsException"],
                    "IntervalSeconds": 2,
                    "MaxAttempts": 6,
                    "BackoffRate": 2,
                },
                {"ErrorEquals": ["States.ALL"], "MaxAttempts": 0},
            ],
            "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "Oops"}],
            "End": True,
        },
        "Oops": {"Type": "Fail", "Error": "HelloFailed", "Cause": "The function failed"},
    },
}

STRIPE_CHARGE = {
    "Comment": "Charge a customer through Stripe with an HTTP Task and a connection",
    "Version": "1.0",
    "TimeoutSeconds": 3600,
    "QueryLanguage": "JSONPath",
    "StartAt": "Charge",
    "States": {
        "Charge": {
            "Type": "Task",
            "Resource": "arn:aws:states:::lambda:invoke",
            "Parameters": {
                "ApiEndpoint": "https://api.stripe.com/v1/payment_intents",
                "Method": "POST",
                "Authentication": {
                    "ConnectionArn": "arn:aws:events:us-east-1:123456789012:connection/stripe/1"
                },
                "Headers": {"Idempotency-Key.$": "$$.Execution.Name"},
                "RequestBody": {
                    "amount.$": "$.order.total",
                    "currency": "eur",
                    "customer.$": "$.customer.stripeId",
                    "description.$": "States.Format('Order {}', $.order.id)",
                },
                "Transform": {"RequestBodyEncoding": "URL_ENCODED"},
            },
            "ResultSelector": {"paymentId.$": "$.ResponseBody.id", "status.$": "$.StatusCode"},
            "ResultPath": "$.payment",
            "TimeoutSeconds": 60,
            "Retry": [
                {
                    "ErrorEquals": ["States.Http.StatusCode.429", "States.Http.StatusCode.503"],
                    "IntervalSeconds": 1,
                    "MaxAttempts": 5,
                    "BackoffRate": 2.0,
                    "MaxDelaySeconds": 30,
                    "JitterStrategy": "FULL",
                }
            ],
            "Catch": [
                {
                    "ErrorEquals": ["States.Http.StatusCode.402"],
                    "ResultPath": "$.declined",
                    "Next": "Declined",
                },
                {"ErrorEquals": ["States.ALL"], "Next": "Failed"},
            ],
            "Next": "Paid",
        },
        "Paid": {"Type": "Succeed", "OutputPath": "$.payment"},
        "Declined": {
            "Type": "Fail",
            "Error": "PaymentDeclined",
            "CausePath": "States.Format('Card declined: {}', $.declined.Cause)",
        },
        "Failed": {"Type": "Fail", "ErrorPath": "$.Error", "CausePath": "$.Cause"},
    },
}

ORDER_PIPELINE = {
    "Comment": "Validate, wait for the slot, fulfil lines in parallel, notify",
    "StartAt": "Route",
    "States": {
        "Route": {
            "Type": "Choice",
            "Choices": [
                {
                    "And": [
                        {"Variable": "$.order.total", "NumericGreaterThan": 0},
                        {"Variable": "$.order.express", "BooleanEquals": True},
                    ],
                    "Next": "Fulfil",
                },
                {"Variable": "$.order.slot", "IsPresent": True, "Next": "Wait for slot"},
            ],
            "Default": "Rejected",
        },
        "Wait for slot": {"Type": "Wait", "TimestampPath": "$.order.slot", "Next": "Fulfil"},
        "Fulfil": {
            "Type": "Parallel",
            "InputPath": "$.order",
            "Branches": [
                {
                    "StartAt": "Ship lines",
                    "States": {
                        "Ship lines": {
                            "Type": "Map",
                            "ItemsPath": "$.lines",
                            "MaxConcurrency": 5,
                            "ItemSelector": {
                                "line.$": "$$.Map.Item.Value",
                                "index.$": "$$.Map.Item.Index",
                                "orderId.$": "$.id",
                            },
                            "ItemProcessor": {
                                "ProcessorConfig": {"Mode": "INLINE"},
                                "StartAt": "Ship",
                                "States": {
                                    "Ship": {
                                        "Type": "Task",
                                        "Resource": (
                                            "arn:aws:states:::lambda:invoke.waitForTaskToken"
                                        ),
                                        "Parameters": {
                                            "FunctionName": "ship",
                                            "Payload": {
                                                "token.$": "$$.Task.Token",
                                                "line.$": "$.line",
                                            },
                                        },
                                        "HeartbeatSeconds": 60,
                                        "TimeoutSeconds": 600,
                                        "End": True,
                                    }
                                },
                            },
                            "End": True,
                        }
                    },
                },
                {
                    "StartAt": "Invoice",
                    "States": {
                        "Invoice": {
                            "Type": "Pass",
                            "Parameters": {"invoice.$": "States.UUID()", "total.$": "$.total"},
                            "End": True,
                        }
                    },
                },
            ],
            "ResultSelector": {"shipments.$": "$[0]", "invoice.$": "$[1].invoice"},
            "ResultPath": "$.fulfilment",
            "Next": "Pause",
        },
        "Pause": {"Type": "Wait", "Seconds": 0, "Next": "Notify"},
        "Notify": {
            "Type": "Task",
            "Resource": "arn:aws:states:us-east-1:123456789012:activity:notify",
            "TimeoutSecondsPath": "$.notifyTimeout",
            "HeartbeatSecondsPath": "$.notifyHeartbeat",
            "ResultPath": None,
            "OutputPath": "$.fulfilment",
            "Next": "Done",
        },
        "Done": {"Type": "Succeed"},
        "Rejected": {"Type": "Fail", "Error": "OrderRejected"},
    },
}

DISTRIBUTED_MAP = {
    "StartAt": "Process",
    "States": {
        "Process": {
            "Type": "Map",
            "Label": "process-rows",
            "ItemsPath": "$.rows",
            "ItemBatcher": {"MaxItemsPerBatch": 100, "BatchInput": {"runId.$": "$$.Execution.Id"}},
            "MaxConcurrencyPath": "$.concurrency",
            "ToleratedFailurePercentage": 5.5,
            "ItemProcessor": {
                "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "EXPRESS"},
                "StartAt": "Handle",
                "States": {
                    "Handle": {
                        "Type": "Task",
                        "Resource": "arn:aws:states:::lambda:invoke",
                        "Parameters": {"FunctionName": "handle", "Payload.$": "$"},
                        "OutputPath": "$.Payload",
                        "End": True,
                    }
                },
            },
            "Retry": [{"ErrorEquals": ["States.ExceedToleratedFailureThreshold"]}],
            "End": True,
        }
    },
}

LEGACY_ITERATOR = {
    "StartAt": "Each",
    "States": {
        "Each": {
            "Type": "Map",
            "ItemsPath": "$.items",
            "Parameters": {"item.$": "$$.Map.Item.Value", "tags.$": "States.Array('a', $.tag)"},
            "Iterator": {
                "StartAt": "Echo",
                "States": {"Echo": {"Type": "Pass", "Result": {"static": [1, 2]}, "End": True}},
            },
            "ResultPath": "$.echoed",
            "Next": "Fin",
        },
        "Fin": {"Type": "Pass", "InputPath": None, "OutputPath": None, "End": True},
    },
}


@pytest.mark.parametrize(
    "definition",
    [HELLO_LAMBDA, STRIPE_CHARGE, ORDER_PIPELINE, DISTRIBUTED_MAP, LEGACY_ITERATOR],
    ids=["hello-lambda", "stripe-charge", "order-pipeline", "distributed-map", "legacy-iterator"],
)
def test_real_world_definitions_have_no_diagnostics(definition: dict[str, Any]) -> None:
    assert validate_definition(definition) == []
    # And the compiler, which trusts the validator, accepts them.
    compile_definition(definition)


def test_a_valid_definition_as_json_text_has_no_diagnostics() -> None:
    import json

    assert validate_definition(json.dumps(ORDER_PIPELINE)) == []
    assert validate_definition(json.dumps(ORDER_PIPELINE).encode()) == []


def test_validation_does_not_change_the_definition() -> None:
    before = copy.deepcopy(ORDER_PIPELINE)
    validate_definition(ORDER_PIPELINE)
    assert before == ORDER_PIPELINE


# --- what the definition is --------------------------------------------------------------


@pytest.mark.parametrize("value", [[], 3, "[1, 2]", True, "null"])
def test_a_definition_that_is_not_an_object_is_refused(value: Any) -> None:
    found = one_error(value)
    assert (found.code, found.location) == ("SCHEMA_VALIDATION_FAILED", "")
    assert "must be a valid JSON object" in found.message


@pytest.mark.parametrize("value", [None, "", b""])
def test_an_empty_definition_is_a_missing_description(value: Any) -> None:
    assert errors(value) == [("MISSING_DESCRIPTION", "")]


def test_whitespace_only_text_is_not_an_object() -> None:
    # Observed on AWS: " " gives SCHEMA_VALIDATION_FAILED, not INVALID_JSON_DESCRIPTION.
    assert errors("  \n") == [("SCHEMA_VALIDATION_FAILED", "")]


def test_json_syntax_errors_say_where() -> None:
    found = one_error('{"StartAt": "A",\n "States": {')
    assert found.code == "INVALID_JSON_DESCRIPTION"
    assert "line 2" in found.message


@pytest.mark.parametrize("text", ['{"a": NaN}', '{"a": Infinity}', '{"a": -Infinity}'])
def test_non_json_numbers_in_text_are_syntax_errors(text: str) -> None:
    assert errors(text) == [("INVALID_JSON_DESCRIPTION", "")]


def test_bytes_that_are_not_utf8_are_syntax_errors() -> None:
    assert errors(b'{"StartAt": "\xff"}') == [("INVALID_JSON_DESCRIPTION", "")]


def test_a_key_repeated_in_json_text_is_reported() -> None:
    text = '{"StartAt": "A", "Comment": "x", "Comment": "y", "States": {"A": {"Type": "Succeed"}}}'
    assert errors(text) == [("SCHEMA_VALIDATION_FAILED", "/Comment")]


def test_a_state_name_repeated_in_json_text_is_a_duplicate_state_name() -> None:
    text = (
        '{"StartAt": "A", "States": {"A": {"Type": "Pass", "End": true}, "A": {"Type": "Succeed"}}}'
    )
    assert errors(text) == [("DUPLICATE_STATE_NAME", "/States/A")]


# --- top-level fields ---------------------------------------------------------------------


def test_missing_start_at_and_states_are_reported_together_at_the_root() -> None:
    found = one_error({})
    assert (found.code, found.location) == ("SCHEMA_VALIDATION_FAILED", "")
    assert "[StartAt, States]" in found.message


def test_missing_states() -> None:
    assert errors({"StartAt": "A"}) == [("SCHEMA_VALIDATION_FAILED", "")]


@pytest.mark.parametrize("states", [[], "A", None, 3])
def test_states_must_be_an_object(states: Any) -> None:
    assert errors(machine(states)) == [("SCHEMA_VALIDATION_FAILED", "/States")]


def test_states_must_not_be_empty() -> None:
    assert errors(machine({})) == [("SCHEMA_VALIDATION_FAILED", "/States")]


@pytest.mark.parametrize("start", [3, None, ""])
def test_start_at_must_be_a_non_empty_string(start: Any) -> None:
    assert errors(machine({"A": PASS_END}, start=start)) == [
        ("SCHEMA_VALIDATION_FAILED", "/StartAt")
    ]


def test_start_at_must_name_a_state_and_the_others_are_then_unreachable() -> None:
    # As AWS: the bad StartAt, and every state it leaves unreachable.
    assert errors(machine({"A": PASS_END}, start="B")) == [
        ("MISSING_TRANSITION_TARGET", "/StartAt"),
        ("MISSING_TRANSITION_TARGET", "/States/A"),
    ]


def test_comment_must_be_a_string() -> None:
    assert errors(machine({"A": PASS_END}, Comment=5)) == [("SCHEMA_VALIDATION_FAILED", "/Comment")]


def test_version_must_be_1_0() -> None:
    assert errors(machine({"A": PASS_END}, Version="1.0")) == []
    assert errors(machine({"A": PASS_END}, Version="2.0")) == [
        ("SCHEMA_VALIDATION_FAILED", "/Version")
    ]
    assert errors(machine({"A": PASS_END}, Version=1.0)) == [
        ("SCHEMA_VALIDATION_FAILED", "/Version")
    ]


@pytest.mark.parametrize("timeout", [0, -5, 1.5, "60", True, None, 100_000_000])
def test_machine_timeout_must_be_a_positive_integer(timeout: Any) -> None:
    assert errors(machine({"A": PASS_END}, TimeoutSeconds=timeout)) == [
        ("SCHEMA_VALIDATION_FAILED", "/TimeoutSeconds")
    ]


@pytest.mark.parametrize("timeout", [1, 60.0, 99_999_999])
def test_machine_timeout_accepts_positive_integers(timeout: Any) -> None:
    assert errors(machine({"A": PASS_END}, TimeoutSeconds=timeout)) == []


def test_a_jsonata_machine_validates() -> None:
    definition = machine(
        {"A": {"Type": "Pass", "Output": "{% 1 %}", "End": True}}, QueryLanguage="JSONata"
    )
    assert validate_definition(definition) == []


@pytest.mark.parametrize("language", ["jsonpath", "XPath", 1])
def test_query_language_must_be_jsonpath_or_jsonata(language: Any) -> None:
    assert errors(machine({"A": PASS_END}, QueryLanguage=language)) == [
        ("SCHEMA_VALIDATION_FAILED", "/QueryLanguage")
    ]


def test_unknown_top_level_fields_are_errors_with_a_suggestion() -> None:
    found = one_error({"StartAt": "A", "States": {"A": PASS_END}, "Timeout": 5})
    assert (found.code, found.location) == ("SCHEMA_VALIDATION_FAILED", "/Timeout")
    assert "'TimeoutSeconds'" in found.message


# --- state names --------------------------------------------------------------------------


def test_state_names_may_have_80_characters_but_not_81() -> None:
    ok = "x" * 80
    assert errors(machine({ok: PASS_END}, start=ok)) == []
    long = "y" * 81
    found = one_error(machine({long: PASS_END}, start=long))
    assert (found.code, found.location) == ("INVALID_STATE_NAME", f"/States/{long}")
    assert "80-character limit" in found.message


def test_the_state_name_limit_is_configurable() -> None:
    name = "z" * 90
    assert errors(machine({name: PASS_END}, start=name), max_state_name_length=100) == []


@pytest.mark.parametrize("name", ["bell\x07", "tab\there", "nel\u0085", "half\ud800", "\uffff"])
def test_state_names_cannot_hold_control_or_invalid_characters(name: str) -> None:
    assert errors(machine({name: PASS_END}, start=name)) == [
        ("INVALID_STATE_NAME", f"/States/{name}")
    ]


def test_state_names_may_hold_spaces_and_punctuation() -> None:
    name = "Charge card: step #1 (retry) — ünïcode ✓"
    assert errors(machine({name: PASS_END}, start=name)) == []


def test_state_name_locations_escape_slash_and_tilde() -> None:
    name = "a/b~c"
    found = one_error(machine({name: {"Type": "Succeed", "Bogus": 1}}, start=name))
    assert found.location == "/States/a~1b~0c/Bogus"


def test_an_empty_state_name_is_invalid() -> None:
    assert ("INVALID_STATE_NAME", "/States/") in errors(machine({"": PASS_END}, start=""))


def test_a_non_string_state_name_is_invalid() -> None:
    definition = {"StartAt": "A", "States": {"A": {"Type": "Pass", "Next": 7}, 7: PASS_END}}
    assert ("INVALID_STATE_NAME", "/States/7") in errors(definition)


def test_state_names_must_be_unique_across_branches() -> None:
    definition = machine(
        {
            "P": {
                "Type": "Parallel",
                "Branches": [
                    {"StartAt": "Done", "States": {"Done": PASS_END}},
                    {"StartAt": "Work", "States": {"Work": PASS_END}},
                ],
                "Next": "Done",
            },
            "Done": {"Type": "Succeed"},
        },
        start="P",
    )
    # The outer name is registered first, so the nested one is the duplicate.
    assert errors(definition) == [("DUPLICATE_STATE_NAME", "/States/P/Branches/0/States/Done")]


# --- the graph --------------------------------------------------------------------------------


def test_a_missing_next_target_and_an_unreachable_state_as_aws_reports_them() -> None:
    # The definition from localstack#11978, where AWS's reply is quoted.
    definition = {
        "StartAt": "pass1",
        "States": {
            "pass1": {"Type": "Pass", "Next": "pass3"},
            "pass2": {"Type": "Pass", "End": True},
        },
    }
    assert sorted(errors(definition)) == [
        ("MISSING_TRANSITION_TARGET", "/States/pass1/Next"),
        ("MISSING_TRANSITION_TARGET", "/States/pass2"),
    ]


def test_default_and_catch_and_choice_targets_must_exist() -> None:
    definition = machine(
        {
            "A": {
                "Type": "Task",
                "Resource": "arn:aws:states:::lambda:invoke",
                "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Nowhere1"}],
                "Next": "C",
            },
            "C": {
                "Type": "Choice",
                "Choices": [{"Variable": "$.x", "BooleanEquals": True, "Next": "Nowhere2"}],
                "Default": "Nowhere3",
            },
        }
    )
    assert sorted(errors(definition)) == [
        ("MISSING_END_STATE", ""),
        ("MISSING_TRANSITION_TARGET", "/States/A/Catch/0/Next"),
        ("MISSING_TRANSITION_TARGET", "/States/C/Choices/0/Next"),
        ("MISSING_TRANSITION_TARGET", "/States/C/Default"),
    ]


def test_unreachable_states_are_errors() -> None:
    found = one_error(machine({"A": PASS_END, "Orphan": PASS_END}))
    assert (found.code, found.location) == ("MISSING_TRANSITION_TARGET", "/States/Orphan")
    assert 'State "Orphan" is not reachable' in found.message


def test_states_reached_only_through_catch_or_default_are_reachable() -> None:
    definition = machine(
        {
            "A": {
                "Type": "Task",
                "Resource": "arn:aws:states:::lambda:invoke",
                "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Recover"}],
                "Next": "Route",
            },
            "Route": {
                "Type": "Choice",
                "Choices": [{"Variable": "$.ok", "BooleanEquals": True, "Next": "Done"}],
                "Default": "Recover",
            },
            "Recover": {"Type": "Fail"},
            "Done": {"Type": "Succeed"},
        }
    )
    assert errors(definition) == []


def test_a_loop_with_a_way_out_is_valid() -> None:
    definition = machine(
        {
            "A": {"Type": "Pass", "Next": "Check"},
            "Check": {
                "Type": "Choice",
                "Choices": [{"Variable": "$.done", "BooleanEquals": False, "Next": "A"}],
                "Default": "End",
            },
            "End": {"Type": "Succeed"},
        }
    )
    assert errors(definition) == []


def test_a_machine_with_no_terminal_state_is_refused() -> None:
    found = one_error(
        machine(
            {"A": {"Type": "Pass", "Next": "B"}, "B": {"Type": "Wait", "Seconds": 1, "Next": "A"}}
        )
    )
    assert (found.code, found.location) == ("MISSING_END_STATE", "")
    assert "no terminal state" in found.message


def test_a_branch_cannot_go_to_a_state_outside_it() -> None:
    definition = machine(
        {
            "P": {
                "Type": "Parallel",
                "Branches": [
                    {
                        "StartAt": "In",
                        "States": {"In": {"Type": "Pass", "Next": "After"}, "X": PASS_END},
                    }
                ],
                "Next": "After",
            },
            "After": {"Type": "Succeed"},
        },
        start="P",
    )
    found = [d for d in validate_definition(definition) if d.location.endswith("/In/Next")]
    assert [(d.code, d.location) for d in found] == [
        ("MISSING_TRANSITION_TARGET", "/States/P/Branches/0/States/In/Next")
    ]
    assert "exists at /States/After" in found[0].message


def test_a_branch_without_a_terminal_state_is_refused_at_the_branch() -> None:
    definition = machine(
        {
            "P": {
                "Type": "Parallel",
                "Branches": [{"StartAt": "L", "States": {"L": {"Type": "Pass", "Next": "L"}}}],
                "End": True,
            }
        },
        start="P",
    )
    assert errors(definition) == [("MISSING_END_STATE", "/States/P/Branches/0")]


def test_too_deep_nesting_is_refused() -> None:
    inner: dict[str, Any] = {"StartAt": "Leaf", "States": {"Leaf": {"Type": "Succeed"}}}
    for depth in range(MAX_NESTING_DEPTH + 1):
        inner = {
            "StartAt": f"P{depth}",
            "States": {f"P{depth}": {"Type": "Parallel", "Branches": [inner], "End": True}},
        }
    codes = {code for code, _ in errors(inner)}
    assert codes == {"TOO_DEEPLY_NESTED"}


def test_diagnostics_are_diagnostics_with_messages() -> None:
    for found in validate_definition(machine({"A": {"Type": "Pass"}})):
        assert isinstance(found, Diagnostic)
        assert found.message.endswith((".", "?"))
