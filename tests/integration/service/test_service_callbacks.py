"""``.waitForTaskToken`` callbacks through the service, driven with boto3.

The base resource is a Python task registered in the service's task registry that keeps the
token it was called with (``$$.Task.Token`` in Parameters, ``$states.context.Task.Token`` in
JSONata), as a webhook-style integration would hand it to the outside world; the test then
completes the task with SendTaskSuccess/Failure like that outside world would.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from _service_kit import ServiceServer, unique
from botocore.exceptions import ClientError
from test_service_executions import create_machine, history, wait_until_done

# The service fixture runs these on PostgreSQL too when STEPLINE_TEST_POSTGRES_URL is set.
RUN_ON_POSTGRES = True
_BOUND_SECONDS = 20.0


class TokenBox:
    """The tokens the base resource was called with (the server's loop writes, tests read)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.calls: list[Any] = []

    async def __call__(self, parameters: Any) -> Any:
        with self.lock:
            self.calls.append(parameters)
        return {"submitted": True}

    def token(self, index: int = 0) -> str:
        deadline = time.monotonic() + _BOUND_SECONDS
        for _ in range(10_000):
            with self.lock:
                if len(self.calls) > index:
                    return str(self.calls[index]["token"])
            if time.monotonic() > deadline:
                break
            time.sleep(0.02)
        raise AssertionError("the base resource was not called with a token")


def register_notifier(server: ServiceServer, box: TokenBox) -> str:
    """Register ``box`` as a base resource; the ``.waitForTaskToken`` resource that calls it."""
    resource = f"arn:aws:states:::stepline:{unique('notify')}"

    async def register(context: Any) -> None:
        context.tasks.register(resource, box)

    server.call(register)
    return f"{resource}.waitForTaskToken"


def callback_machine(resource: str, **task: Any) -> dict[str, Any]:
    return {
        "StartAt": "Wait",
        "States": {
            "Wait": {
                "Type": "Task",
                "Resource": resource,
                "Parameters": {"token.$": "$$.Task.Token", "order.$": "$.order"},
                "End": True,
                **task,
            }
        },
    }


def error_code(call: Callable[..., Any], **kwargs: Any) -> str:
    with pytest.raises(ClientError) as caught:
        call(**kwargs)
    return str(caught.value.response["Error"]["Code"])


def test_success_completes_the_task_once(service: ServiceServer) -> None:
    box = TokenBox()
    machine = create_machine(service, callback_machine(register_notifier(service, box)))
    arn = service.sfn.start_execution(stateMachineArn=machine, input='{"order": 7}')["executionArn"]
    token = box.token()
    assert box.calls[0]["order"] == 7
    service.sfn.send_task_success(taskToken=token, output='{"paid": true}')
    described = wait_until_done(service, arn)
    assert described["status"] == "SUCCEEDED", described
    assert json.loads(described["output"]) == {"paid": True}
    types = [event["type"] for event in history(service, arn)]
    assert types.index("TaskScheduled") < types.index("TaskSubmitted")
    assert types.index("TaskSubmitted") < types.index("TaskSucceeded")
    assert types.count("TaskSucceeded") == 1
    # A token is used once: the second answer is AWS's TaskTimedOut, and nothing is recorded.
    code = error_code(service.sfn.send_task_success, taskToken=token, output="{}")
    assert code == "TaskTimedOut"
    assert error_code(service.sfn.send_task_heartbeat, taskToken=token) == "TaskTimedOut"
    assert [event["type"] for event in history(service, arn)] == types


def test_jsonata_token_and_failure_with_catch(service: ServiceServer) -> None:
    box = TokenBox()
    resource = register_notifier(service, box)
    definition = {
        "QueryLanguage": "JSONata",
        "StartAt": "Wait",
        "States": {
            "Wait": {
                "Type": "Task",
                "Resource": resource,
                "Arguments": {"token": "{% $states.context.Task.Token %}"},
                "Catch": [{"ErrorEquals": ["Payment.Declined"], "Next": "Declined"}],
                "End": True,
            },
            "Declined": {"Type": "Pass", "Output": "{% $states.input %}", "End": True},
        },
    }
    machine = create_machine(service, definition)
    arn = service.sfn.start_execution(stateMachineArn=machine)["executionArn"]
    service.sfn.send_task_failure(
        taskToken=box.token(), error="Payment.Declined", cause="card expired"
    )
    described = wait_until_done(service, arn)
    assert described["status"] == "SUCCEEDED", described
    assert json.loads(described["output"]) == {
        "Error": "Payment.Declined",
        "Cause": "card expired",
    }
    failed = next(e for e in history(service, arn) if e["type"] == "TaskFailed")
    assert failed["taskFailedEventDetails"]["error"] == "Payment.Declined"


def test_bad_tokens_and_outputs_are_refused(service: ServiceServer) -> None:
    sfn = service.sfn
    assert error_code(sfn.send_task_success, taskToken="not a token!", output="{}") == (
        "InvalidToken"
    )
    unknown = "A" * 43
    assert error_code(sfn.send_task_success, taskToken=unknown, output="{}") == ("TaskDoesNotExist")
    assert error_code(sfn.send_task_failure, taskToken=unknown) == "TaskDoesNotExist"
    assert error_code(sfn.send_task_heartbeat, taskToken=unknown) == "TaskDoesNotExist"
    box = TokenBox()
    machine = create_machine(service, callback_machine(register_notifier(service, box)))
    arn = sfn.start_execution(stateMachineArn=machine, input='{"order": 1}')["executionArn"]
    token = box.token()
    assert error_code(sfn.send_task_success, taskToken=token, output="{nope") == ("InvalidOutput")
    sfn.send_task_heartbeat(taskToken=token)
    sfn.send_task_success(taskToken=token, output="[1, 2]")
    described = wait_until_done(service, arn)
    assert described["status"] == "SUCCEEDED", described
    assert json.loads(described["output"]) == [1, 2]


def test_success_after_the_timeout_is_task_timed_out(service: ServiceServer) -> None:
    box = TokenBox()
    resource = register_notifier(service, box)
    machine = create_machine(service, callback_machine(resource, TimeoutSeconds=1))
    arn = service.sfn.start_execution(stateMachineArn=machine, input='{"order": 2}')["executionArn"]
    token = box.token()
    described = wait_until_done(service, arn)
    assert described["status"] == "FAILED", described
    assert described["error"] == "States.Timeout"
    assert [e["type"] for e in history(service, arn)].count("TaskTimedOut") == 1
    code = error_code(service.sfn.send_task_success, taskToken=token, output="{}")
    assert code == "TaskTimedOut"


def test_missed_heartbeat_times_the_task_out(service: ServiceServer) -> None:
    box = TokenBox()
    resource = register_notifier(service, box)
    machine = create_machine(
        service, callback_machine(resource, TimeoutSeconds=60, HeartbeatSeconds=1)
    )
    arn = service.sfn.start_execution(stateMachineArn=machine, input='{"order": 3}')["executionArn"]
    token = box.token()
    described = wait_until_done(service, arn)
    assert described["status"] == "FAILED", described
    assert described["error"] == "States.HeartbeatTimeout"
    code = error_code(service.sfn.send_task_failure, taskToken=token, error="Late")
    assert code == "TaskTimedOut"


def test_stopped_execution_closes_its_token(service: ServiceServer) -> None:
    box = TokenBox()
    machine = create_machine(service, callback_machine(register_notifier(service, box)))
    arn = service.sfn.start_execution(stateMachineArn=machine, input='{"order": 4}')["executionArn"]
    token = box.token()
    service.sfn.stop_execution(executionArn=arn)
    code = error_code(service.sfn.send_task_success, taskToken=token, output="{}")
    assert code == "TaskTimedOut"


def test_token_survives_a_restart(serve_service: Any, tmp_path: Path) -> None:
    box = TokenBox()
    first = serve_service("sqlite", directory=tmp_path)
    resource = register_notifier(first, box)
    machine = create_machine(first, callback_machine(resource))
    arn = first.sfn.start_execution(stateMachineArn=machine, input='{"order": 5}')["executionArn"]
    token = box.token()
    # The submission is committed before the server goes away.
    for _ in range(1000):
        if any(e["type"] == "TaskSubmitted" for e in history(first, arn)):
            break
        time.sleep(0.02)
    first.stop()
    second = serve_service("sqlite", directory=tmp_path)

    async def register(context: Any) -> None:
        context.tasks.register(resource.removesuffix(".waitForTaskToken"), box)

    second.call(register)
    second.sfn.send_task_success(taskToken=token, output='{"after": "restart"}')
    described = wait_until_done(second, arn)
    assert described["status"] == "SUCCEEDED", described
    assert json.loads(described["output"]) == {"after": "restart"}
    assert len(box.calls) == 1


def test_cancelled_branch_closes_its_token(service: ServiceServer) -> None:
    first, second = TokenBox(), TokenBox()
    waiting = register_notifier(service, first)
    after = register_notifier(service, second)
    definition = {
        "StartAt": "Both",
        "States": {
            "Both": {
                "Type": "Parallel",
                "Branches": [
                    {
                        "StartAt": "Pause",
                        "States": {
                            "Pause": {"Type": "Wait", "Seconds": 1, "Next": "Broken"},
                            "Broken": {"Type": "Fail", "Error": "Branch.Broke"},
                        },
                    },
                    {
                        "StartAt": "Wait",
                        "States": {
                            "Wait": {
                                "Type": "Task",
                                "Resource": waiting,
                                "Parameters": {"token.$": "$$.Task.Token"},
                                "End": True,
                            }
                        },
                    },
                ],
                "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Again"}],
                "End": True,
            },
            "Again": {
                "Type": "Task",
                "Resource": after,
                "Parameters": {"token.$": "$$.Task.Token"},
                "End": True,
            },
        },
    }
    machine = create_machine(service, definition)
    arn = service.sfn.start_execution(stateMachineArn=machine)["executionArn"]
    abandoned = first.token()
    current = second.token()
    # The branch that waited was cancelled when its sibling failed: its token is used up.
    code = error_code(service.sfn.send_task_success, taskToken=abandoned, output="{}")
    assert code == "TaskTimedOut"
    service.sfn.send_task_success(taskToken=current, output='"second"')
    described = wait_until_done(service, arn)
    assert described["status"] == "SUCCEEDED", described
    assert json.loads(described["output"]) == "second"


def test_callback_completes_while_a_sibling_task_runs(service: ServiceServer) -> None:
    """The run holds the lease for the sibling's task; the token's outcome reaches it at once."""
    box = TokenBox()
    waiting = register_notifier(service, box)
    after_callback = threading.Event()
    slow = f"arn:aws:states:::stepline:{unique('slow')}"
    mark = f"arn:aws:states:::stepline:{unique('mark')}"

    async def slow_task(_parameters: Any) -> Any:
        # Ends when the other branch got past its callback (or gives up, bounded).
        return {"saw_callback": await asyncio.to_thread(after_callback.wait, _BOUND_SECONDS)}

    async def mark_task(_parameters: Any) -> Any:
        after_callback.set()
        return "marked"

    async def register(context: Any) -> None:
        context.tasks.register(slow, slow_task)
        context.tasks.register(mark, mark_task)

    service.call(register)
    definition = {
        "StartAt": "Both",
        "States": {
            "Both": {
                "Type": "Parallel",
                "Branches": [
                    {
                        "StartAt": "Slow",
                        "States": {"Slow": {"Type": "Task", "Resource": slow, "End": True}},
                    },
                    {
                        "StartAt": "Wait",
                        "States": {
                            "Wait": {
                                "Type": "Task",
                                "Resource": waiting,
                                "Parameters": {"token.$": "$$.Task.Token"},
                                "Next": "Mark",
                            },
                            "Mark": {"Type": "Task", "Resource": mark, "End": True},
                        },
                    },
                ],
                "End": True,
            }
        },
    }
    machine = create_machine(service, definition)
    arn = service.sfn.start_execution(stateMachineArn=machine)["executionArn"]
    service.sfn.send_task_success(taskToken=box.token(), output="{}")
    described = wait_until_done(service, arn)
    assert described["status"] == "SUCCEEDED", described
    assert json.loads(described["output"]) == [{"saw_callback": True}, "marked"]
