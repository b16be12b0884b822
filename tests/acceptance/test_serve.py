"""``stepline serve`` as users run it: a real process, driven by boto3 and the AWS CLI.

Each test starts the console script in a subprocess on 127.0.0.1 with a free port (``--port 0``;
the port is read from the line the server prints) and its own ``STEPLINE_DATA_DIR``, and stops
it with SIGTERM, expecting a clean exit 0. Startup problems must end with one line on stderr
and exit status 2, never a traceback.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, Final

import pytest
from botocore.exceptions import ClientError

from stepline.cli import main
from support.postgres import POSTGRES_URL, SKIP_REASON, drop_schema, new_schema, schema_url
from support.serve_process import (
    START_TIMEOUT,
    ServeProcess,
    base_environment,
    stepline_command,
)

ACCESS_KEY_ID: Final = "AKIDSERVETEST"
SECRET_KEY: Final = "serve-test-secret-0123456789"
TRUST: Final = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": "states.amazonaws.com"},
                "Action": "sts:AssumeRole",
            }
        ],
    }
)
DEFINITION: Final = json.dumps(
    {
        "StartAt": "Greet",
        "States": {
            "Greet": {"Type": "Pass", "Parameters": {"greeting.$": "$.name"}, "Next": "Done"},
            "Done": {"Type": "Succeed"},
        },
    }
)
ROLE_ARN: Final = "arn:aws:iam::123456789012:role/serve-test"


def aws_cli() -> str:
    script = Path(sys.executable).with_name("aws")
    found = str(script) if script.exists() else shutil.which("aws")
    if found is None:
        pytest.fail("the AWS CLI is not installed: pip install -e '.[dev]' installs awscli")
    return found


@pytest.fixture
def start_server(tmp_path: Path) -> Iterator[Any]:
    started: list[ServeProcess] = []

    def start(*args: str, data_dir: Path | None = None, **extra_env: str) -> ServeProcess:
        server = ServeProcess(
            args,
            base_environment(data_dir or tmp_path, **extra_env),
            credentials=(ACCESS_KEY_ID, SECRET_KEY),
        )
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop(signal.SIGKILL)


def run_failing(args: list[str], env: Mapping[str, str]) -> subprocess.CompletedProcess[str]:
    """Run ``stepline serve`` expecting it to refuse to start."""
    return subprocess.run(
        [*stepline_command(), "serve", *args],
        env=dict(env),
        capture_output=True,
        text=True,
        timeout=START_TIMEOUT,
        check=False,
    )


def assert_one_line_refusal(result: subprocess.CompletedProcess[str], *fragments: str) -> None:
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("stepline: error: ")
    assert "Traceback" not in result.stderr
    for fragment in fragments:
        assert fragment in lines[0]


@pytest.fixture(
    params=[
        "default",
        pytest.param(
            "postgres", marks=pytest.mark.skipif(POSTGRES_URL is None, reason=SKIP_REASON)
        ),
    ]
)
def database_args(request: pytest.FixtureRequest) -> Iterator[tuple[str, ...]]:
    """No ``--database`` (the default SQLite file), or a PostgreSQL schema of its own."""
    if request.param == "default":
        yield ()
        return
    schema = new_schema()
    try:
        yield ("--database", schema_url(schema))
    finally:
        drop_schema(schema)


def test_boto3_round_trip_and_clean_sigterm(
    start_server: Any, tmp_path: Path, database_args: tuple[str, ...]
) -> None:
    server = start_server(*database_args)
    assert str(tmp_path) in server.announcement
    assert SECRET_KEY not in server.announcement
    sfn = server.client("stepfunctions")
    machine = sfn.create_state_machine(name="greeter", definition=DEFINITION, roleArn=ROLE_ARN)
    arn = machine["stateMachineArn"]
    assert arn == "arn:aws:states:us-east-1:123456789012:stateMachine:greeter"
    assert sfn.describe_state_machine(stateMachineArn=arn)["definition"] == DEFINITION
    execution_arn = sfn.start_execution(stateMachineArn=arn, name="first", input='{"name": "Ada"}')[
        "executionArn"
    ]
    described: dict[str, Any] = {}
    for _ in range(200):
        described = sfn.describe_execution(executionArn=execution_arn)
        if described["status"] != "RUNNING":
            break
        time.sleep(0.05)
    assert described["status"] == "SUCCEEDED"
    assert json.loads(described["output"]) == {"greeting": "Ada"}
    events = sfn.get_execution_history(executionArn=execution_arn)["events"]
    assert events[0]["type"] == "ExecutionStarted"
    assert events[-1]["type"] == "ExecutionSucceeded"
    test = sfn.test_state(definition=json.dumps({"Type": "Pass", "End": True}), input="{}")
    assert test["status"] == "SUCCEEDED"
    sfn.close()
    assert server.stop(signal.SIGTERM) == 0
    assert "Traceback" not in "".join(server.stderr_lines)


def test_aws_cli_round_trip_and_sigint(start_server: Any, tmp_path: Path) -> None:
    server = start_server()
    env = base_environment(
        tmp_path,
        AWS_ACCESS_KEY_ID="AKIDCLI",
        AWS_SECRET_ACCESS_KEY="cli-secret",
        AWS_DEFAULT_REGION="us-east-1",
        AWS_DISABLE_HOST_PREFIX_INJECTION="true",
        AWS_CONFIG_FILE=str(tmp_path / "no-aws-config"),
        AWS_SHARED_CREDENTIALS_FILE=str(tmp_path / "no-aws-credentials"),
    )

    def aws(*args: str) -> Any:
        result = subprocess.run(
            [aws_cli(), "--endpoint-url", server.endpoint, "--output", "json", *args],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert result.returncode == 0, result.stderr
        return json.loads(result.stdout) if result.stdout.strip() else None

    assert aws("stepfunctions", "list-state-machines") == {"stateMachines": []}
    arn = aws(
        "stepfunctions",
        "create-state-machine",
        "--name",
        "cli",
        "--definition",
        DEFINITION,
        "--role-arn",
        ROLE_ARN,
    )["stateMachineArn"]
    listed = aws("stepfunctions", "list-state-machines")["stateMachines"]
    assert [m["stateMachineArn"] for m in listed] == [arn]
    execution = aws(
        "stepfunctions", "start-execution", "--state-machine-arn", arn, "--input", '{"name":"x"}'
    )["executionArn"]
    status = "RUNNING"
    for _ in range(100):
        status = aws("stepfunctions", "describe-execution", "--execution-arn", execution)["status"]
        if status != "RUNNING":
            break
        time.sleep(0.05)
    assert status == "SUCCEEDED"
    history = aws("stepfunctions", "get-execution-history", "--execution-arn", execution)
    assert history["events"][-1]["type"] == "ExecutionSucceeded"

    api_key = "cli-api-key-value-42"
    created = aws(
        "events",
        "create-connection",
        "--name",
        "Keygen",
        "--authorization-type",
        "API_KEY",
        "--auth-parameters",
        json.dumps({"ApiKeyAuthParameters": {"ApiKeyName": "x-api-key", "ApiKeyValue": api_key}}),
    )
    assert created["ConnectionState"] == "AUTHORIZED"
    described = aws("events", "describe-connection", "--name", "Keygen")
    assert described["AuthParameters"] == {"ApiKeyAuthParameters": {"ApiKeyName": "x-api-key"}}
    assert api_key not in json.dumps(described)
    role = aws(
        "iam", "create-role", "--role-name", "serve-test", "--assume-role-policy-document", TRUST
    )
    assert role["Role"]["AssumeRolePolicyDocument"] == json.loads(TRUST)
    assert server.stop(signal.SIGINT) == 0
    assert api_key not in "".join(server.stderr_lines)
    assert api_key not in (tmp_path / "connections.json").read_text()


def test_data_survives_a_restart(start_server: Any, tmp_path: Path) -> None:
    first = start_server()
    first.client("events").create_connection(
        Name="kept",
        AuthorizationType="BASIC",
        AuthParameters={"BasicAuthParameters": {"Username": "u", "Password": "p"}},
    )
    first.client("iam").create_role(RoleName="kept", AssumeRolePolicyDocument=TRUST)
    arn = first.client("stepfunctions").create_state_machine(
        name="kept", definition=DEFINITION, roleArn=ROLE_ARN
    )["stateMachineArn"]
    assert first.stop() == 0
    # The lifespan's shutdown closed the store: SQLite removes its write-ahead log on a clean close.
    assert (tmp_path / "stepline.db").exists()
    assert not (tmp_path / "stepline.db-wal").exists()

    second = start_server()
    assert second.client("events").describe_connection(Name="kept")["ConnectionState"] == (
        "AUTHORIZED"
    )
    assert second.client("iam").get_role(RoleName="kept")["Role"]["RoleName"] == "kept"
    described = second.client("stepfunctions").describe_state_machine(stateMachineArn=arn)
    assert described["name"] == "kept"
    assert second.stop() == 0


def test_sigv4_accepts_the_right_key_only(start_server: Any) -> None:
    server = start_server(
        STEPLINE_AUTH="sigv4", STEPLINE_ACCESS_KEYS=f"{ACCESS_KEY_ID}:{SECRET_KEY}"
    )
    assert "authentication SigV4" in server.announcement
    assert SECRET_KEY not in server.announcement
    assert server.client("stepfunctions").list_state_machines()["stateMachines"] == []
    assert server.client("iam").list_roles()["Roles"] == []
    with pytest.raises(ClientError) as caught:
        server.client("stepfunctions", secret="not-the-secret").list_state_machines()
    assert caught.value.response["Error"]["Code"] == "InvalidSignatureException"
    with pytest.raises(ClientError) as caught:
        server.client("events", key_id="AKIDUNKNOWN").list_connections()
    assert caught.value.response["Error"]["Code"] == "UnrecognizedClientException"
    assert server.stop() == 0
    assert SECRET_KEY not in "".join(server.stderr_lines)


def test_refuses_a_public_address_without_authentication(tmp_path: Path) -> None:
    result = run_failing(["--host", "0.0.0.0"], base_environment(tmp_path))
    assert_one_line_refusal(result, "0.0.0.0", "STEPLINE_AUTH=sigv4", "--allow-unauthenticated")


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.0.2.10"])
def test_non_loopback_hosts_are_refused_in_process(
    host: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for key in [k for k in os.environ if k.startswith("STEPLINE_")]:
        monkeypatch.delenv(key)
    monkeypatch.setenv("STEPLINE_DATA_DIR", str(tmp_path))
    assert main(["serve", "--host", host, "--port", "0"]) == 2
    error = capsys.readouterr().err
    assert error.startswith(f"stepline: error: Refusing to listen on {host} without authentication")
    assert not list(tmp_path.iterdir())  # refused before anything was created


def test_bad_port_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["serve", "--port", "70000"]) == 2
    assert "is not a port number" in capsys.readouterr().err


def test_startup_problems_are_one_line_errors(tmp_path: Path) -> None:
    env = base_environment(tmp_path)
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = str(taken.getsockname()[1])
        assert_one_line_refusal(run_failing(["--port", port], env), f"127.0.0.1:{port}", "--port")

    # Port 1 on this machine: nothing listens there.
    unreachable = "postgresql://u:hunter2@127.0.0.1:1/x"
    refusal = run_failing(["--port", "0", "--database", unreachable], env)
    assert_one_line_refusal(refusal, "postgresql://u:***@127.0.0.1:1/x", "unavailable")
    assert "hunter2" not in refusal.stderr

    not_a_directory = tmp_path / "file"
    not_a_directory.write_text("")
    assert_one_line_refusal(
        run_failing(["--port", "0"], base_environment(not_a_directory)), str(not_a_directory)
    )

    newer = tmp_path / "newer.db"
    with sqlite3.connect(newer) as connection:
        connection.execute(
            "CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, title TEXT NOT NULL, "
            "applied_at REAL NOT NULL)"
        )
        connection.execute("INSERT INTO schema_migrations VALUES (9999, 'future', 0)")
    connection.close()
    assert_one_line_refusal(
        run_failing(["--port", "0", "--database", f"sqlite:///{newer}"], env), "upgrade stepline"
    )

    (tmp_path / "iam.json").write_text("{not json")
    assert_one_line_refusal(run_failing(["--port", "0"], env), "iam.json", "move it away")

    bad_auth = base_environment(tmp_path, STEPLINE_AUTH="sigv4")
    assert_one_line_refusal(run_failing(["--port", "0"], bad_auth), "STEPLINE_ACCESS_KEYS")


def test_limits_come_from_the_environment(start_server: Any, tmp_path: Path) -> None:
    server = start_server("--port", "0", STEPLINE_MAX_PAYLOAD_BYTES="64")
    sfn = server.client("stepfunctions")
    arn = sfn.create_state_machine(
        name="Tiny",
        definition=json.dumps({"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}}),
        roleArn="arn:aws:iam::123456789012:role/stepline",
    )["stateMachineArn"]
    sfn.start_execution(stateMachineArn=arn, input=json.dumps({"small": 1}))
    with pytest.raises(sfn.exceptions.InvalidExecutionInput):
        sfn.start_execution(stateMachineArn=arn, input=json.dumps({"big": "x" * 100}))
    assert server.stop() == 0


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("STEPLINE_MAX_PAYLOAD_BYTES", "lots"),
        ("STEPLINE_MAX_HISTORY_EVENTS", "0"),
        ("STEPLINE_EXPRESS_MAX_SECONDS", "nan"),
        ("STEPLINE_LEASE_SECONDS", "-5"),
    ],
)
def test_bad_limits_are_one_line_errors(variable: str, value: str, tmp_path: Path) -> None:
    env = base_environment(tmp_path, **{variable: value})
    assert_one_line_refusal(run_failing(["--port", "0"], env), variable, "unset it")
