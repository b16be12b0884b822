"""``stepline test-state``, run as a subprocess on real files (and a real HTTP server)."""

from __future__ import annotations

import json
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from support.cli_process import run_stepline
from support.fake_apis import FakeApis

TASK = "arn:aws:states:::stepline:work"


def write(path: Path, value: Any) -> Path:
    path.write_text(value if isinstance(value, str) else json.dumps(value), encoding="utf-8")
    return path


def test_readable_output_and_exit_zero(tmp_path: Path) -> None:
    write(
        tmp_path / "pass.json",
        {"Type": "Pass", "Result": {"ok": True}, "ResultPath": "$.r", "Next": "Ship"},
    )
    proc = run_stepline("test-state", "pass.json", "--input", '{"id": 7}', cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0] == "status: SUCCEEDED"
    assert "next state: Ship" in lines
    assert 'output: {"id":7,"r":{"ok":true}}' in lines
    assert "inspection data:" in lines
    assert '  afterResultPath: {"id":7,"r":{"ok":true}}' in lines


def test_json_is_exactly_the_response(tmp_path: Path) -> None:
    write(tmp_path / "pass.json", {"Type": "Pass", "End": True})
    proc = run_stepline(
        "test-state", "pass.json", "--json", "--inspection-level", "INFO", "-i", "[1]", cwd=tmp_path
    )
    assert proc.returncode == 0
    assert json.loads(proc.stdout) == {"output": "[1]", "status": "SUCCEEDED"}


def test_exit_statuses_per_status(tmp_path: Path) -> None:
    write(
        tmp_path / "task.json",
        {
            "Type": "Task",
            "Resource": "arn:aws:states:::lambda:invoke",
            "Retry": [{"ErrorEquals": ["Retry.Me"], "IntervalSeconds": 2, "MaxAttempts": 2}],
            "Catch": [{"ErrorEquals": ["Catch.Me"], "Next": "Handle"}],
            "End": True,
        },
    )
    caught = run_stepline(
        "test-state",
        "task.json",
        "--mock-error",
        "Catch.Me",
        "--mock-cause",
        "c",
        "--json",
        cwd=tmp_path,
    )
    assert caught.returncode == 4
    assert json.loads(caught.stdout)["nextState"] == "Handle"
    retried = run_stepline(
        "test-state",
        "task.json",
        "--mock-error",
        "Retry.Me",
        "--retrier-retry-count",
        "1",
        cwd=tmp_path,
    )
    assert retried.returncode == 3
    assert "    retryBackoffIntervalSeconds: 4" in retried.stdout.splitlines()
    failed = run_stepline("test-state", "task.json", "--mock-error", "Other", cwd=tmp_path)
    assert failed.returncode == 1
    assert "error: Other" in failed.stdout.splitlines()
    succeeded = run_stepline("test-state", "task.json", "--mock-result", '{"v": 1}', cwd=tmp_path)
    assert succeeded.returncode == 0


def test_refused_requests_exit_two_with_the_aws_code(tmp_path: Path) -> None:
    write(tmp_path / "pass.json", {"Type": "Pass", "End": True})
    proc = run_stepline("test-state", "pass.json", "--inspection-level", "TRACE", cwd=tmp_path)
    assert proc.returncode == 2
    assert proc.stderr.startswith("stepline: error: ValidationException: The TRACE")
    write(tmp_path / "bad.json", {"Type": "Pass", "Next": 3})
    proc = run_stepline("test-state", "bad.json", cwd=tmp_path)
    assert proc.returncode == 2
    assert "InvalidDefinition" in proc.stderr
    assert "/Next" in proc.stderr
    proc = run_stepline("test-state", "pass.json", "--mock-cause", "c", cwd=tmp_path)
    assert proc.returncode == 2
    assert "--mock-error" in proc.stderr


def test_state_of_a_yaml_machine_with_variables_and_a_task(tmp_path: Path) -> None:
    write(
        tmp_path / "machine.yaml",
        textwrap.dedent(f"""\
        QueryLanguage: JSONata
        StartAt: Work
        States:
          Work:
            Type: Task
            Resource: "{TASK}"
            Arguments:
              n: "{{% $states.input.n * $factor %}}"
            Assign:
              last: "{{% $states.result %}}"
            Output: "{{% $states.result %}}"
            Next: Done
          Done:
            Type: Succeed
        """),
    )
    (tmp_path / "work_tasks.py").write_text(
        textwrap.dedent("""\
        def work(parameters):
            print("working")
            return parameters["n"] + 1
        """),
        encoding="utf-8",
    )
    write(tmp_path / "vars.json", {"factor": 10})
    proc = run_stepline(
        "test-state",
        "machine.yaml",
        "--state-name",
        "Work",
        "--input",
        '{"n": 4}',
        "--variables",
        "@vars.json",
        "--task",
        f"{TASK}=work_tasks:work",
        "--json",
        cwd=tmp_path,
        pythonpath=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr
    response = json.loads(proc.stdout)
    assert response["output"] == "41"
    assert response["nextState"] == "Done"
    assert json.loads(response["inspectionData"]["variables"]) == {"factor": 10, "last": 41}
    assert "working" in proc.stderr


@pytest.fixture(scope="module")
def apis() -> Iterator[FakeApis]:
    with FakeApis() as server:
        yield server


def test_http_task_trace_with_a_connections_file(tmp_path: Path, apis: FakeApis) -> None:
    arn = "arn:aws:events:us-east-1:123456789012:connection/Keygen/abc"
    write(
        tmp_path / "connections.json",
        {
            "Connections": [
                {
                    "Name": "Keygen",
                    "ConnectionArn": arn,
                    "AuthorizationType": "API_KEY",
                    "AuthParameters": {
                        "ApiKeyAuthParameters": {
                            "ApiKeyName": "Authorization",
                            "ApiKeyValue": f"Bearer {apis.secrets.license_key}",
                        }
                    },
                }
            ]
        },
    )
    write(
        tmp_path / "http.json",
        {
            "Type": "Task",
            "Resource": "arn:aws:states:::http:invoke",
            "Parameters": {
                "ApiEndpoint": apis.base_url + "/v1/accounts/acme/users/u9",
                "Method": "GET",
                "Authentication": {"ConnectionArn": arn},
            },
            "End": True,
        },
    )
    common = (
        "http.json",
        "--inspection-level",
        "TRACE",
        "--connections",
        "connections.json",
        "--http-allow",
        "127.0.0.0/8",
    )
    masked = run_stepline("test-state", *common, cwd=tmp_path)
    assert masked.returncode == 0, masked.stderr
    assert "  request:" in masked.stdout.splitlines()
    assert "    statusCode: 200" in masked.stdout.splitlines()
    assert apis.secrets.license_key not in masked.stdout + masked.stderr
    revealed = run_stepline("test-state", *common, "--reveal-secrets", "--json", cwd=tmp_path)
    assert revealed.returncode == 0, revealed.stderr
    headers = json.loads(revealed.stdout)["inspectionData"]["request"]["headers"]
    assert f"Authorization: Bearer {apis.secrets.license_key}" in headers
