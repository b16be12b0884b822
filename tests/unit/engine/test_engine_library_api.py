"""The library API around the engine: ``StateMachine.run``/``run_async`` and their edges.

AWS reference for execution names: API reference ``StartExecution`` — 1 to 80 characters, none
of: white space, ``< > { } [ ]``, ``? *``, ``" # % \\ ^ | ~ ` $ & , ; : /``, control characters.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from _engine_kit import Recorder, chain, failed, machine, res, run, single, succeeded, task

from stepline import InvalidDefinition, StateMachine, StatesError, VirtualClock


def test_run_accepts_json_text_definition() -> None:
    text = json.dumps(chain(("A", {"Type": "Pass", "Result": {"v": 1}}), ("B", {"Type": "Pass"})))
    assert StateMachine(text, clock=VirtualClock(0)).run({}).output == {"v": 1}


def test_run_accepts_json_bytes_definition() -> None:
    text = json.dumps(single({"Type": "Pass", "Result": 2})).encode()
    assert StateMachine(text, clock=VirtualClock(0)).run().output == 2


def test_invalid_definition_is_rejected_up_front() -> None:
    with pytest.raises(InvalidDefinition):
        StateMachine({"StartAt": "Nowhere", "States": {}})


def test_run_default_input_is_empty_object() -> None:
    assert StateMachine(single({"Type": "Pass"}), clock=VirtualClock(0)).run().output == {}


@pytest.mark.parametrize("value", [None, 0, "text", [1, 2], True, 1.5])
def test_any_json_value_is_a_valid_input(value: Any) -> None:
    assert machine(single({"Type": "Pass"})).run(value).output == value


def test_non_json_input_is_rejected() -> None:
    with pytest.raises(ValueError, match="JSON"):
        machine(single({"Type": "Pass"})).run({"when": object()})


def test_run_async_inside_event_loop() -> None:
    async def handler(p: Any) -> Any:
        await asyncio.sleep(0)
        return p["x"] + 1

    sm = machine(single(task()), {"work": handler})

    async def main() -> Any:
        first, second = await asyncio.gather(sm.run_async({"x": 1}), sm.run_async({"x": 2}))
        return first.output, second.output

    assert asyncio.run(main()) == (2, 3)


def test_run_inside_event_loop_raises_clear_error() -> None:
    sm = machine(single(task()), {"work": lambda p: 1})

    async def main() -> None:
        with pytest.raises(RuntimeError, match="run_async"):
            sm.run({})

    asyncio.run(main())


def test_unregistered_resource_is_runtime_error_naming_it() -> None:
    result = run(single(task("missing")), {}, {"other": lambda p: 1})
    cause = failed(result, "States.Runtime", res("missing"))
    assert "S" in cause


def test_unregistered_resource_not_caught() -> None:
    definition = {
        "StartAt": "T",
        "States": {
            "T": task("missing", Catch=[{"ErrorEquals": ["States.ALL"], "Next": "C"}], End=True),
            "C": {"Type": "Pass", "End": True},
        },
    }
    failed(run(definition, {}), "States.Runtime")


@pytest.mark.parametrize("bad", [{1, 2}, {"k": object()}, b"bytes"])
def test_non_json_task_result_fails_cleanly(bad: Any) -> None:
    result = run(single(task()), {}, {"work": Recorder(bad)})
    assert result.status == "FAILED"
    assert result.error is not None
    assert result.cause


def test_tuple_task_result_becomes_json_array() -> None:
    result = run(single(task()), {}, {"work": Recorder((1, 2))})
    assert succeeded(result) == [1, 2]
    assert isinstance(result.output, list)


def test_task_decorator_registers_handler() -> None:
    sm = machine(single(task("dec")))

    @sm.task(res("dec"))
    def handler(p: Any) -> str:
        return "decorated"

    assert sm.run({}).output == "decorated"


def test_statemachine_task_errors_keep_their_names() -> None:
    def handler(_: Any) -> Any:
        raise StatesError("My.Error", "mine")

    failed(run(single(task()), {}, {"work": handler}), "My.Error", "mine")


@pytest.mark.parametrize(
    "name", ["", "x" * 81, "has space", "a/b", "a:b", "a*b", "a{b}", "tab\tname", "a#b", "a$b"]
)
def test_invalid_execution_names_are_rejected(name: str) -> None:
    with pytest.raises(ValueError, match="name"):
        machine(single({"Type": "Pass"})).run({}, name=name)


@pytest.mark.parametrize("name", ["simple", "with-dash_and_underscore", "x" * 80, "Run123"])
def test_valid_execution_names(name: str) -> None:
    result = machine(single({"Type": "Pass"})).run({}, name=name)
    assert result.execution_arn.endswith(":" + name)


@pytest.mark.parametrize("name", ["order.42", "v1+retry", "café", "run@night", "(paren)"])
def test_execution_names_aws_allows(name: str) -> None:
    """AWS forbids only whitespace, brackets, wildcards, ``" # % \\ ^ | ~ ` $ & , ; : /`` and
    control characters; '.', '+', '@', '(' and non-ASCII letters are valid."""
    result = machine(single({"Type": "Pass"})).run({}, name=name)
    assert result.execution_arn.endswith(":" + name)


def test_default_execution_name_is_a_uuid() -> None:
    result = machine(single({"Type": "Pass"})).run({})
    name = result.execution_arn.rsplit(":", 1)[1]
    assert len(name) == 36
    assert name.count("-") == 4


def test_result_repr_and_succeeded_flag() -> None:
    result = machine(single({"Type": "Pass"})).run({"a": 1})
    assert result.succeeded
    assert "SUCCEEDED" in repr(result)
