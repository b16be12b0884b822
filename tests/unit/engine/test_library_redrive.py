"""Redrive through the library: ``StateMachine.redrive(result)`` continues an execution that
ended unsuccessfully, in process, with the engine's redrive."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from stepline import StateMachine, StatesError
from stepline.engine import RedriveError, VirtualClock

DEFINITION: dict[str, Any] = {
    "StartAt": "Prepare",
    "States": {
        "Prepare": {"Type": "Pass", "Result": {"order": 7}, "Next": "Charge"},
        "Charge": {
            "Type": "Task",
            "Resource": "arn:aws:states:::stepline:charge",
            "ResultPath": "$.charge",
            "End": True,
        },
    },
}


def _machine(calls: list[Any], fixed: list[bool]) -> StateMachine:
    machine = StateMachine(DEFINITION, clock=VirtualClock())

    @machine.task("arn:aws:states:::stepline:charge")
    def charge(parameters: Any) -> Any:
        calls.append(parameters)
        if not fixed[0]:
            raise StatesError("Payments.Down", "the payment provider is down")
        return {"charged": parameters["order"]}

    return machine


def test_redrive_continues_a_failed_run_from_its_failed_state() -> None:
    calls: list[Any] = []
    fixed = [False]
    machine = _machine(calls, fixed)
    failed = machine.run()
    assert failed.status == "FAILED" and failed.error == "Payments.Down"
    history = list(failed.history)

    fixed[0] = True
    redriven = machine.redrive(failed)
    assert redriven.status == "SUCCEEDED"
    assert redriven.output == {"order": 7, "charge": {"charged": 7}}
    assert redriven.redrive_count == 1 and redriven.execution_arn == failed.execution_arn
    assert len(calls) == 2
    # The ended run's result is unchanged; the new one's history continues it.
    assert failed.status == "FAILED" and failed.history == history
    types = [event.type for event in redriven.history]
    assert types[: len(history)] == [event.type for event in history]
    assert types[len(history)] == "ExecutionRedriven"
    assert types.count("PassStateEntered") == 1
    assert redriven.history_events()[len(history)]["executionRedrivenEventDetails"] == {
        "redriveCount": 1
    }
    with pytest.raises(RedriveError, match="SUCCEEDED"):
        machine.redrive(redriven)


def test_redrive_async_and_another_machine_refused() -> None:
    calls: list[Any] = []
    fixed = [False]
    machine = _machine(calls, fixed)
    failed = machine.run()
    other = _machine([], [True])
    with pytest.raises(ValueError, match="another state machine"):
        other.redrive(failed)

    async def main() -> Any:
        with pytest.raises(RuntimeError, match="redrive_async"):
            machine.redrive(failed)
        again = await machine.redrive_async(failed)
        fixed[0] = True
        return await machine.redrive_async(again)

    final = asyncio.run(main())
    assert final.status == "SUCCEEDED" and final.redrive_count == 2
    assert len(calls) == 3
