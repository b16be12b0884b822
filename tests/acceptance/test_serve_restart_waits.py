"""Restarting ``stepline serve`` while executions wait on the outside world (issue #6).

A real ``stepline serve`` on SQLite runs three Standard executions at once, each waiting
durably on something different:

- an activity task that a worker has taken (``GetActivityTask``) but not answered;
- a ``.waitForTaskToken`` callback (``states:startExecution.waitForTaskToken``: the token is in
  the child's input, where the test reads it, as the child's own code would);
- a ``.sync:2`` child execution, itself waiting on an activity task.

Once all three wait, the server is stopped — SIGTERM in one round, ``kill -9`` in the other —
and a new server starts on the same data directory. The test then answers the taken activity
task with the token it got before the restart, completes the callback, and serves the child's
activity task. Every execution must succeed with the right output, and every history must
record each step exactly once: one activity start and success, one submission, one child.

Every wait is bounded by a count and a deadline; nothing asserts on timing.
"""

from __future__ import annotations

import json
import signal
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, Final

import pytest
from test_serve_activities import history

from support.serve_process import ServeProcess, base_environment

ACCESS_KEY_ID: Final = "AKIDRESTARTTEST"
SECRET_KEY: Final = "restart-test-secret-0123456789"
ROLE_ARN: Final = "arn:aws:iam::123456789012:role/restart-test"
NESTED: Final = "arn:aws:states:::states:startExecution"
WAIT_TIMEOUT: Final = 20.0


@pytest.fixture
def servers() -> Iterator[list[ServeProcess]]:
    started: list[ServeProcess] = []
    yield started
    for server in started:
        server.kill()


def _start(servers: list[ServeProcess], data_dir: Path) -> tuple[ServeProcess, Any]:
    server = ServeProcess([], base_environment(data_dir), credentials=(ACCESS_KEY_ID, SECRET_KEY))
    servers.append(server)
    return server, server.client("stepfunctions", read_timeout=70)


def _until(what: str, check: Callable[[], Any]) -> Any:
    deadline = time.monotonic() + WAIT_TIMEOUT
    for _ in range(1000):
        value = check()
        if value:
            return value
        assert time.monotonic() < deadline, f"gave up waiting for {what}"
        time.sleep(0.05)
    raise AssertionError(f"gave up waiting for {what}")


def _has_event(sfn: Any, arn: str, kind: str) -> bool:
    return any(event["type"] == kind for event in history(sfn, arn))


def _machine(sfn: Any, name: str, states: dict[str, Any]) -> str:
    definition = {"StartAt": next(iter(states)), "States": states}
    return str(
        sfn.create_state_machine(name=name, definition=json.dumps(definition), roleArn=ROLE_ARN)[
            "stateMachineArn"
        ]
    )


def _task(resource: str, **fields: Any) -> dict[str, Any]:
    return {"Type": "Task", "Resource": resource, "End": True, **fields}


@pytest.mark.parametrize("stop_signal", [signal.SIGTERM, signal.SIGKILL], ids=["sigterm", "kill9"])
def test_waiting_executions_complete_after_a_restart(
    servers: list[ServeProcess], tmp_path: Path, stop_signal: signal.Signals
) -> None:
    data_dir = tmp_path / "data"
    first, sfn = _start(servers, data_dir)
    work = sfn.create_activity(name="work")["activityArn"]
    child_work = sfn.create_activity(name="child-work")["activityArn"]
    on_activity = _machine(sfn, "on-activity", {"Work": _task(work)})
    echo = _machine(sfn, "echo", {"Echo": {"Type": "Pass", "End": True}})
    on_callback = _machine(
        sfn,
        "on-callback",
        {
            "Ask": _task(
                f"{NESTED}.waitForTaskToken",
                Parameters={
                    "StateMachineArn": echo,
                    "Name": "asked",
                    "Input": {"token.$": "$$.Task.Token"},
                },
            )
        },
    )
    child = _machine(sfn, "child", {"ChildWork": _task(child_work)})
    on_child = _machine(
        sfn,
        "on-child",
        {
            "Child": _task(
                f"{NESTED}.sync:2",
                Parameters={"StateMachineArn": child, "Name": "the-child", "Input": {"n": 3}},
            )
        },
    )
    runs = {
        machine: sfn.start_execution(stateMachineArn=machine, name="run", input='{"n": 1}')[
            "executionArn"
        ]
        for machine in (on_activity, on_callback, on_child)
    }
    taken = sfn.get_activity_task(activityArn=work, workerName="before-restart")
    assert taken.get("taskToken"), "the activity task was not handed out"
    asked = echo.replace(":stateMachine:", ":execution:") + ":asked"
    the_child = child.replace(":stateMachine:", ":execution:") + ":the-child"
    _until("the activity start", lambda: _has_event(sfn, runs[on_activity], "ActivityStarted"))
    _until("the callback", lambda: _has_event(sfn, runs[on_callback], "TaskSubmitted"))
    _until("the child's start", lambda: _has_event(sfn, runs[on_child], "TaskSubmitted"))
    _until("the child's activity", lambda: _has_event(sfn, the_child, "ActivityScheduled"))
    token = json.loads(sfn.describe_execution(executionArn=asked)["input"])["token"]

    status = first.stop(stop_signal)
    assert status != 0 if stop_signal == signal.SIGKILL else status == 0, first.stderr_tail()

    second, sfn = _start(servers, data_dir)
    sfn.send_task_success(taskToken=taken["taskToken"], output='{"activity": "done"}')
    sfn.send_task_success(taskToken=token, output='{"callback": "done"}')
    child_task = _until(
        "the child's activity task",
        lambda: sfn.get_activity_task(activityArn=child_work, workerName="after").get("taskToken"),
    )
    sfn.send_task_success(taskToken=child_task, output='{"child": "done"}')

    statuses: dict[str, str] = {}

    def all_ended() -> dict[str, Any] | None:
        described = {arn: sfn.describe_execution(executionArn=arn) for arn in runs.values()}
        statuses.update((arn, d["status"]) for arn, d in described.items())
        return described if all(d["status"] != "RUNNING" for d in described.values()) else None

    try:
        described = _until("every execution's end", all_ended)
    except AssertionError as exc:
        raise AssertionError(f"{exc}; statuses {statuses}; {second.stderr_tail()}") from None
    for arn, done in described.items():
        assert done["status"] == "SUCCEEDED", (arn, done, second.stderr_tail())
    assert json.loads(described[runs[on_activity]]["output"]) == {"activity": "done"}
    assert json.loads(described[runs[on_callback]]["output"]) == {"callback": "done"}
    child_output = json.loads(described[runs[on_child]]["output"])
    assert child_output["ExecutionArn"] == the_child
    assert child_output["Output"] == {"child": "done"} and child_output["Input"] == {"n": 3}

    activity_kinds = Counter(e["type"] for e in history(sfn, runs[on_activity]))
    assert activity_kinds["ActivityStarted"] == activity_kinds["ActivitySucceeded"] == 1
    for arn in (runs[on_callback], runs[on_child]):
        kinds = Counter(e["type"] for e in history(sfn, arn))
        assert kinds["TaskScheduled"] == kinds["TaskSubmitted"] == kinds["TaskSucceeded"] == 1
    child_kinds = Counter(e["type"] for e in history(sfn, the_child))
    assert child_kinds["ActivityStarted"] == child_kinds["ActivitySucceeded"] == 1
    for machine in (child, echo):
        assert len(sfn.list_executions(stateMachineArn=machine)["executions"]) == 1
    assert second.stop() == 0, second.stderr_tail()
