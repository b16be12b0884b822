"""Execution logs in the library: the service's record shape, levels, data, sinks."""

from __future__ import annotations

import io
import json
import os
import stat
from pathlib import Path
from typing import Any

import pytest

from stepline import ExecutionLogging, StateMachine
from stepline._log_records import log_lines, settings_from_text
from stepline.service._exec_events import event_records

FLOW = {
    "StartAt": "Greet",
    "States": {
        "Greet": {"Type": "Pass", "Parameters": {"hello.$": "$.name"}, "Next": "Choose"},
        "Choose": {
            "Type": "Choice",
            "Choices": [{"Variable": "$.hello", "StringEquals": "boom", "Next": "Boom"}],
            "Default": "Done",
        },
        "Boom": {"Type": "Fail", "Error": "Exploded", "Cause": "asked to"},
        "Done": {"Type": "Succeed"},
    },
}


def run_logged(value: Any, level: str = "ALL", **options: Any) -> tuple[Any, list[dict[str, Any]]]:
    lines: list[str] = []
    logging = ExecutionLogging(level, sink=lines.append, **options)
    result = StateMachine(FLOW, name="Flow", logging=logging).run(value)
    return result, [json.loads(line) for line in lines]


def test_all_logs_every_event_in_the_services_shape() -> None:
    lines: list[str] = []
    logging = ExecutionLogging("ALL", include_execution_data=True, sink=lines.append)
    result = StateMachine(FLOW, name="Flow", logging=logging).run({"name": "Ada"})
    assert [json.loads(line)["type"] for line in lines] == [e.type for e in result.history]
    first = json.loads(lines[0])
    assert first["id"] == "1" and first["redrive_count"] == "0"
    assert first["execution_arn"] == result.execution_arn
    assert json.loads(first["details"]["input"]) == {"name": "Ada"}
    # Byte for byte what the service writes for the same events.
    service = settings_from_text(
        json.dumps(
            {
                "level": "ALL",
                "includeExecutionData": True,
                "destinations": [
                    {"cloudWatchLogsLogGroup": {"logGroupArn": "arn:aws:logs:r:1:log-group:g:*"}}
                ],
            }
        )
    )
    assert service is not None
    expected = log_lines(service, result.execution_arn, 0, event_records(result.history))
    assert [line.encode() + b"\n" for line in lines] == expected


def test_without_execution_data_inputs_and_outputs_are_left_out() -> None:
    _, records = run_logged({"name": "Ada"})
    assert records
    for record in records:
        for member in ("input", "output", "parameters"):
            assert member not in record["details"]
    assert "Ada" not in json.dumps(records)


@pytest.mark.parametrize(
    ("level", "types"),
    [
        ("ERROR", ["FailStateEntered", "ExecutionFailed"]),
        ("FATAL", ["ExecutionFailed"]),
        ("OFF", []),
    ],
)
def test_levels_filter_as_aws_does(level: str, types: list[str]) -> None:
    result, records = run_logged({"name": "boom"}, level)
    assert result.status == "FAILED"
    assert [record["type"] for record in records] == types


def test_a_file_sink_appends_private_lines(tmp_path: Path) -> None:
    path = tmp_path / "logs" / "flow.jsonl"
    path.parent.mkdir()
    machine = StateMachine(FLOW, logging=ExecutionLogging("FATAL", sink=path))
    machine.run({"name": "boom"})
    machine.run({"name": "boom"})
    lines = path.read_text(encoding="utf-8").splitlines()
    assert [json.loads(line)["type"] for line in lines] == ["ExecutionFailed"] * 2
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600


def test_text_and_binary_streams() -> None:
    text, binary = io.StringIO(), io.BytesIO()
    for sink in (text, binary):
        StateMachine(FLOW, logging=ExecutionLogging("FATAL", sink=sink)).run({"name": "boom"})
    assert json.loads(text.getvalue())["type"] == "ExecutionFailed"
    assert json.loads(binary.getvalue())["type"] == "ExecutionFailed"


def test_each_machine_logs_its_own_children() -> None:
    lines: list[str] = []
    child = StateMachine(FLOW, name="Child", logging=ExecutionLogging("FATAL", sink=lines.append))
    parent = StateMachine(
        {
            "StartAt": "Call",
            "States": {
                "Call": {
                    "Type": "Task",
                    "Resource": "arn:aws:states:::states:startExecution.sync",
                    "Parameters": {"StateMachineArn": child.arn, "Input": {"name": "boom"}},
                    "End": True,
                }
            },
        },
        machines=[child],
    )
    result = parent.run()
    (record,) = [json.loads(line) for line in lines]
    assert record["execution_arn"] == result.children[0].execution_arn


def test_bad_settings_are_refused_with_what_to_do() -> None:
    with pytest.raises(ValueError, match="ALL, ERROR, FATAL, OFF"):
        ExecutionLogging("DEBUG", sink=print)
    with pytest.raises(ValueError, match="file path, a stream or a callable"):
        ExecutionLogging("ALL", sink=42)  # type: ignore[arg-type]


def test_a_redriven_execution_logs_only_what_happened_since() -> None:
    lines: list[str] = []
    calls: list[int] = []

    def flaky(_: Any) -> Any:
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("down")
        return {"ok": True}

    machine = StateMachine(
        {"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": "flaky:x", "End": True}}},
        tasks={"flaky:x": flaky},
        logging=ExecutionLogging("ALL", sink=lines.append),
    )
    failed = machine.run()
    redriven = machine.redrive(failed)
    assert redriven.succeeded
    records = [json.loads(line) for line in lines]
    assert [r["id"] for r in records] == [str(e.id) for e in redriven.history]
    after = [r for r in records if int(r["id"]) > len(failed.history)]
    assert after[0]["type"] == "ExecutionRedriven"
    assert {r["redrive_count"] for r in after} == {"1"}
    assert {r["redrive_count"] for r in records[: len(failed.history)]} == {"0"}
