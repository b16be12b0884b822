"""Real-world JSONata and variable definitions (after AWS's documentation, rewritten): all clean.

Each definition must produce no diagnostic at all, warnings included.
"""

from __future__ import annotations

from typing import Any

import pytest

from stepline.asl._validate import validate_definition

TASK_RESOURCE = "arn:aws:states:::lambda:invoke"
CONNECTION = "arn:aws:events:us-east-1:123456789012:connection/shop/0f0f0f0f"

ORDER_PIPELINE = {
    "Comment": "Charge an order, ship its lines, and tell the customer.",
    "QueryLanguage": "JSONata",
    "StartAt": "Load order",
    "States": {
        "Load order": {
            "Type": "Task",
            "Resource": TASK_RESOURCE,
            "Arguments": {
                "ApiEndpoint": "{% 'https://shop.example.com/orders/' & $states.input.orderId %}",
                "Method": "GET",
                "Authentication": {"ConnectionArn": CONNECTION},
            },
            "Assign": {
                "order": "{% $states.result.ResponseBody %}",
                "customer": "{% $states.result.ResponseBody.customer %}",
                "startedAt": "{% $states.context.Execution.StartTime %}",
            },
            "Output": "{% $states.result.ResponseBody.lines %}",
            "TimeoutSeconds": 30,
            "Retry": [{"ErrorEquals": ["States.Timeout"], "MaxAttempts": 2}],
            "Catch": [
                {
                    "ErrorEquals": ["States.ALL"],
                    "Assign": {"failure": "{% $states.errorOutput %}"},
                    "Output": {"error": "{% $states.errorOutput.Error %}",
                               "input": "{% $states.input %}"},
                    "Next": "Give up",
                }
            ],
            "Next": "Big order?",
        },
        "Big order?": {
            "Type": "Choice",
            "Choices": [
                {
                    "Condition": "{% $sum($order.lines.(price * quantity)) > 1000 %}",
                    "Assign": {"review": True},
                    "Next": "Wait for review",
                },
                {
                    "Condition": "{% $count($states.input) = 0 %}",
                    "Output": {"reason": "empty order"},
                    "Next": "Give up",
                },
            ],
            "Default": "Ship lines",
            "Assign": {"review": False},
        },
        "Wait for review": {
            "Type": "Wait",
            "Timestamp": "{% $fromMillis($toMillis($startedAt) + 3600000) %}",
            "Next": "Ship lines",
        },
        "Ship lines": {
            "Type": "Map",
            "Items": "{% $order.lines %}",
            "MaxConcurrency": "{% $review ? 1 : 10 %}",
            "ItemSelector": {
                "line": "{% $states.context.Map.Item.Value %}",
                "index": "{% $states.context.Map.Item.Index %}",
                "address": "{% $customer.address %}",
            },
            "ItemProcessor": {
                "ProcessorConfig": {"Mode": "INLINE"},
                "StartAt": "Ship one",
                "States": {
                    "Ship one": {
                        "Type": "Task",
                        "Resource": TASK_RESOURCE,
                        "Arguments": {
                            "ApiEndpoint": "https://ship.example.com/parcels",
                            "Method": "POST",
                            "Authentication": {"ConnectionArn": CONNECTION},
                            "RequestBody": {
                                "sku": "{% $states.input.line.sku %}",
                                "to": "{% $states.input.address %}",
                                "order": "{% $order.id %}",
                            },
                        },
                        "Assign": {"parcel": "{% $states.result.ResponseBody.id %}"},
                        "Output": {"parcel": "{% $parcel %}", "line": "{% $states.input.index %}"},
                        "End": True,
                    }
                },
            },
            "Assign": {"parcels": "{% $states.result.parcel %}"},
            "Output": {"shipped": "{% $count($states.result) %}"},
            "Next": "Notify",
        },
        "Notify": {
            "Type": "Parallel",
            "Arguments": {"customer": "{% $customer %}", "parcels": "{% $parcels %}"},
            "Branches": [
                {"StartAt": "Email", "States": {"Email": {
                    "Type": "Pass",
                    "Output": "{% 'Dear ' & $states.input.customer.name %}",
                    "End": True}}},
                {"StartAt": "Text", "States": {"Text": {
                    "Type": "Pass",
                    "Output": {"to": "{% $states.input.customer.phone %}",
                               "body": "{% $join($states.input.parcels, ', ') %}"},
                    "End": True}}},
            ],
            "Output": "{% $merge([$states.input, {'notified': $states.result}]) %}",
            "Next": "Done",
        },
        "Done": {"Type": "Succeed",
                 "Output": {"order": "{% $order.id %}", "review": "{% $review %}"}},
        "Give up": {
            "Type": "Fail",
            "Error": "{% $exists($failure) ? $failure.Error : 'OrderFailed' %}",
            "Cause": "{% $exists($failure) ? $failure.Cause : 'The order is empty.' %}",
        },
    },
}  # fmt: skip

GREETING = {
    "QueryLanguage": "JSONata",
    "StartAt": "Get Greeting",
    "States": {
        "Get Greeting": {"Type": "Pass", "Assign": {"outer": "hello"}, "Next": "Greet Everyone"},
        "Greet Everyone": {
            "Type": "Map",
            "ItemProcessor": {
                "StartAt": "Begin",
                "States": {
                    "Begin": {"Type": "Pass", "Assign": {"inner": "world", "hi": "{% $outer %}"},
                              "Next": "End"},
                    "End": {"Type": "Succeed", "Output": "{% $hi & ' ' & $inner %}"},
                },
            },
            "Assign": {"outer": 2},
            "Next": "Goodbye",
        },
        "Goodbye": {"Type": "Succeed", "Output": "{% $outer %}"},
    },
}  # fmt: skip

MIXED = {
    "Comment": "A JSONPath machine that uses variables both ways and one JSONata state.",
    "StartAt": "Remember",
    "States": {
        "Remember": {
            "Type": "Pass",
            "Assign": {"orderId.$": "$.order.id", "attempts": 0, "when.$": "$$.State.EnteredTime"},
            "Next": "Try",
        },
        "Try": {
            "Type": "Task",
            "Resource": TASK_RESOURCE,
            "Parameters": {
                "ApiEndpoint.$": "States.Format('https://shop.example.com/orders/{}', $orderId)",
                "Method": "GET",
                "Authentication": {"ConnectionArn": CONNECTION},
            },
            "ResultSelector": {"status.$": "$.ResponseBody.status"},
            "ResultPath": "$.check",
            "Assign": {"status.$": "$.status", "attempts.$": "States.MathAdd($attempts, 1)"},
            "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error",
                       "Assign": {"lastError.$": "$.Error"}, "Next": "Again?"}],
            "Next": "Again?",
        },
        "Again?": {
            "Type": "Choice",
            "Choices": [
                {"Variable": "$status", "StringEquals": "READY", "Next": "Summarise"},
                {"And": [{"Variable": "$attempts", "NumericLessThan": 5},
                         {"Variable": "$lastError", "IsPresent": True}],
                 "Assign": {"lastError": None}, "Next": "Pause"},
            ],
            "Default": "Pause",
        },
        "Pause": {"Type": "Wait", "SecondsPath": "$attempts", "Next": "Try"},
        "Summarise": {
            "Type": "Pass",
            "QueryLanguage": "JSONata",
            "Output": {"order": "{% $orderId %}", "tries": "{% $attempts %}",
                       "since": "{% $when %}"},
            "End": True,
        },
    },
}  # fmt: skip

DISTRIBUTED = {
    "QueryLanguage": "JSONata",
    "StartAt": "Fan out",
    "States": {
        "Fan out": {
            "Type": "Map",
            "Items": "{% $states.input.records %}",
            "ItemSelector": {"record": "{% $states.context.Map.Item.Value %}"},
            "ItemBatcher": {
                "MaxItemsPerBatch": "{% $states.input.batchSize %}",
                "MaxInputBytesPerBatch": 131072,
                "BatchInput": {"source": "{% $states.input.source %}"},
            },
            "MaxConcurrency": 100,
            "ToleratedFailureCount": "{% $states.input.tolerance %}",
            "ToleratedFailurePercentage": 5,
            "Label": "FanOut",
            "ItemProcessor": {
                "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "EXPRESS"},
                "StartAt": "Handle",
                "States": {"Handle": {"Type": "Pass",
                                      "Output": "{% $count($states.input.Items) %}",
                                      "End": True}},
            },
            "Output": {"handled": "{% $sum($states.result) %}"},
            "End": True,
        }
    },
}  # fmt: skip

CDK_STYLE = {
    "StartAt": "Prepare",
    "States": {
        "Prepare": {
            "Type": "Pass",
            "QueryLanguage": "JSONata",
            "Output": {"animals": ["Lion", "Cheetah", "Elephant"]},
            "Next": "ProcessAnimals",
        },
        "ProcessAnimals": {
            "Type": "Map",
            "QueryLanguage": "JSONata",
            "Items": "{% $states.input.animals %}",
            "ItemSelector": {"animalName": "{% $states.context.Map.Item.Value %}"},
            "ItemProcessor": {"StartAt": "NoOp", "States": {"NoOp": {"Type": "Pass", "End": True}}},
            "Output": {"processResults": "{% $states.result %}"},
            "Next": "Time out",
        },
        "Time out": {
            "Type": "Task",
            "QueryLanguage": "JSONata",
            "Resource": "arn:aws:states:::lambda:invoke",
            "Arguments": {"FunctionName": "f", "Payload": "{% $states.input %}"},
            "TimeoutSeconds": "{% 120 %}",
            "HeartbeatSeconds": "{% 20 %}",
            "End": True,
        },
    },
}  # fmt: skip


@pytest.mark.parametrize(
    "definition",
    [ORDER_PIPELINE, GREETING, MIXED, DISTRIBUTED, CDK_STYLE],
    ids=["order-pipeline", "greeting", "mixed", "distributed", "cdk-style"],
)
def test_real_world_definitions_are_clean(definition: dict[str, Any]) -> None:
    assert validate_definition(definition) == []
