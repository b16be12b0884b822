"""``stepline run --machine NAME=FILE``: nested workflows on the command line."""

from __future__ import annotations

import json
from pathlib import Path

from support.cli_process import run_stepline

CHILD_ARN = "arn:aws:states:us-east-1:123456789012:stateMachine:Child"


def test_run_starts_a_registered_machine_and_lists_its_children(tmp_path: Path) -> None:
    (tmp_path / "child.json").write_text(
        json.dumps(
            {
                "StartAt": "Add",
                "States": {
                    "Add": {
                        "Type": "Pass",
                        "Parameters": {"t.$": "States.MathAdd($.n, 1)"},
                        "End": True,
                    }
                },
            }
        ),
        encoding="utf-8",
    )
    (tmp_path / "parent.json").write_text(
        json.dumps(
            {
                "StartAt": "Call",
                "States": {
                    "Call": {
                        "Type": "Task",
                        "Resource": "arn:aws:states:::states:startExecution.sync:2",
                        "Parameters": {
                            "StateMachineArn": CHILD_ARN,
                            "Input": {"n.$": "$.n"},
                            "Name": "kid",
                        },
                        "OutputPath": "$.Output",
                        "End": True,
                    }
                },
            }
        ),
        encoding="utf-8",
    )

    traced = run_stepline(
        "run", "parent.json", "--machine", "Child=child.json", "-i", '{"n": 4}', cwd=tmp_path
    )
    assert traced.returncode == 0, traced.stderr
    assert 'Output: {"t":5}' in traced.stdout
    child_line = "child execution arn:aws:states:us-east-1:123456789012:execution:Child:kid"
    assert f"{child_line}: SUCCEEDED" in traced.stdout

    missing = run_stepline("run", "parent.json", "--json", "-i", '{"n": 1}', cwd=tmp_path)
    assert missing.returncode == 1
    answer = json.loads(missing.stdout)
    assert answer["error"] == "StepFunctions.StateMachineDoesNotExist"
    assert "--machine NAME=FILE" in answer["cause"]

    bad = run_stepline("run", "parent.json", "--machine", "Child", cwd=tmp_path)
    assert bad.returncode == 2
    assert "NAME=FILE" in bad.stderr
