"""Execution logs through boto3: ``loggingConfiguration`` honoured for Standard and Express
executions, records in AWS's shape in a file per log group, AWS's level filter, execution data
left out on request, StopExecution and the Express time limit logged, a file sink flushed at
shutdown, and never a connection's secret.
"""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, Final

import pytest
from _service_kit import (
    REGION,
    STORE_KINDS,
    ServiceServer,
    StoreKind,
    config_for,
    serve,
    unique,
)
from test_service_executions import create_machine, history, wait_until_done

from stepline.service._logs_sink import log_group_file_name
from support.fake_apis import FakeApis

_BOUND_SECONDS: Final = 20.0
_HTTP_ALLOW: Final = {"STEPLINE_HTTP_ALLOW": "127.0.0.0/8"}
_RECORD_MEMBERS: Final = [
    "id",
    "type",
    "details",
    "previous_event_id",
    "event_timestamp",
    "execution_arn",
    "redrive_count",
]


class Logged:
    """A running server whose execution logs go to one file per log group in ``directory``."""

    def __init__(self, server: ServiceServer, directory: Path) -> None:
        self.server = server
        self.directory = directory

    def records(
        self,
        group: str,
        execution_arn: str,
        until: Callable[[list[dict[str, Any]]], bool],
    ) -> list[dict[str, Any]]:
        """The execution's records in ``group``'s file, once ``until(records)`` holds."""
        path = self.directory / log_group_file_name(group)
        deadline = time.monotonic() + _BOUND_SECONDS
        found: list[dict[str, Any]] = []
        for _ in range(2000):
            assert self.server.context.execution_logs.flush()
            lines = path.read_text().splitlines() if path.exists() else []
            found = [
                record
                for record in map(json.loads, lines)
                if record["execution_arn"] == execution_arn
            ]
            if until(found):
                return found
            if time.monotonic() > deadline:
                break
            time.sleep(0.02)
        raise AssertionError(f"the log of {execution_arn} in {group!r} stayed {found!r}")


def ended(records: list[dict[str, Any]]) -> bool:
    return any(
        record["type"]
        in ("ExecutionSucceeded", "ExecutionFailed", "ExecutionAborted", "ExecutionTimedOut")
        for record in records
    )


def logging_configuration(level: str, group: str, *, include: bool = True) -> dict[str, Any]:
    configuration: dict[str, Any] = {"level": level, "includeExecutionData": include}
    if level != "OFF":
        arn = f"arn:aws:logs:{REGION}:123456789012:log-group:{group}:*"
        configuration["destinations"] = [{"cloudWatchLogsLogGroup": {"logGroupArn": arn}}]
    return configuration


@pytest.fixture
def own_server(tmp_path: Path) -> Iterator[Callable[..., ServiceServer]]:
    """``own_server(kind, sink, **config)``: a server of the test's own, logging to ``sink``."""
    with contextlib.ExitStack() as stack:

        def start(kind: StoreKind, sink: str, **overrides: Any) -> ServiceServer:
            environ = {"STEPLINE_EXECUTION_LOGS": sink}
            config = config_for(kind, tmp_path, **overrides)
            return stack.enter_context(serve(config, data_dir=tmp_path, environ=environ))

        yield start


@pytest.fixture(scope="module")
def apis() -> Iterator[FakeApis]:
    with FakeApis() as server:
        yield server


@pytest.fixture(scope="module", params=STORE_KINDS)
def logged(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Logged]:
    kind: StoreKind = request.param
    directory = tmp_path_factory.mktemp(f"logging-{kind}")
    logs = directory / "logs"
    environ = {"STEPLINE_EXECUTION_LOGS": f"dir:{logs}", **_HTTP_ALLOW}
    with serve(config_for(kind, directory), data_dir=directory, environ=environ, kind=kind) as s:
        yield Logged(s, logs)


@pytest.fixture(scope="module")
def connection(logged: Logged, apis: FakeApis) -> str:
    answer = logged.server.events.create_connection(
        Name=unique("keygen"),
        AuthorizationType="API_KEY",
        AuthParameters={
            "ApiKeyAuthParameters": {
                "ApiKeyName": "Authorization",
                "ApiKeyValue": f"Bearer {apis.secrets.license_key}",
            }
        },
    )
    return str(answer["ConnectionArn"])


def http_task(endpoint: str, connection: str, **fields: Any) -> dict[str, Any]:
    return {
        "Type": "Task",
        "Resource": "arn:aws:states:::http:invoke",
        "Parameters": {
            "ApiEndpoint": endpoint,
            "Method": "GET",
            "Authentication": {"ConnectionArn": connection},
        },
        **fields,
    }


def succeeding(apis: FakeApis, connection: str) -> dict[str, Any]:
    return {
        "StartAt": "Prepare",
        "States": {
            "Prepare": {"Type": "Pass", "Result": {"user": "u7"}, "Next": "Fetch"},
            "Fetch": http_task(
                apis.base_url + "/v1/accounts/acme/users/u7",
                connection,
                ResultSelector={"id.$": "$.ResponseBody.data.id"},
                Next="Done",
            ),
            "Done": {"Type": "Succeed"},
        },
    }


def failing(apis: FakeApis, connection: str) -> dict[str, Any]:
    return {
        "StartAt": "Call",
        "States": {
            "Call": http_task(
                apis.base_url + "/status/500",
                connection,
                Catch=[{"ErrorEquals": ["States.ALL"], "Next": "Broken"}],
                End=True,
            ),
            "Broken": {"Type": "Fail", "Error": "Broken", "Cause": "the API failed"},
        },
    }


def run_logged(logged: Logged, definition: dict[str, Any], level: str, **options: Any) -> Any:
    group = unique("/aws/vendedlogs/states/orders")
    machine = create_machine(
        logged.server,
        definition,
        loggingConfiguration=logging_configuration(level, group, **options),
    )
    arn = logged.server.sfn.start_execution(stateMachineArn=machine, input='{"order": 7}')[
        "executionArn"
    ]
    wait_until_done(logged.server, arn)
    return group, arn


# ------------------------------------------------------------------------------- Standard


def test_all_logs_every_history_event_in_aws_shape(
    logged: Logged, apis: FakeApis, connection: str
) -> None:
    group, arn = run_logged(logged, succeeding(apis, connection), "ALL")
    records = logged.records(group, arn, ended)
    events = history(logged.server, arn)
    assert len(records) == len(events)
    for record, event in zip(records, events, strict=True):
        assert list(record) == _RECORD_MEMBERS
        assert record["id"] == str(event["id"])
        assert record["type"] == event["type"]
        assert record["previous_event_id"] == str(event["previousEventId"])
        shown = round(event["timestamp"].timestamp() * 1000)
        assert abs(int(record["event_timestamp"]) - shown) <= 1
        assert record["execution_arn"] == arn
        assert record["redrive_count"] == "0"
        members = [key for key in event if key.endswith("EventDetails")]
        assert record["details"] == (event[members[0]] if members else {})
    scheduled = next(r for r in records if r["type"] == "TaskScheduled")
    assert connection in scheduled["details"]["parameters"]


def test_a_connection_secret_never_reaches_the_log(
    logged: Logged, apis: FakeApis, connection: str
) -> None:
    group, arn = run_logged(logged, succeeding(apis, connection), "ALL")
    logged.records(group, arn, ended)
    text = (logged.directory / log_group_file_name(group)).read_text()
    assert "TaskSucceeded" in text
    for secret in apis.secrets.values():
        assert secret not in text


@pytest.mark.parametrize(
    ("level", "expected"),
    [
        (
            "ALL",
            [
                "ExecutionStarted",
                "TaskStateEntered",
                "TaskScheduled",
                "TaskStarted",
                "TaskFailed",
                "TaskStateExited",
                "FailStateEntered",
                "ExecutionFailed",
            ],
        ),
        ("ERROR", ["TaskFailed", "FailStateEntered", "ExecutionFailed"]),
        ("FATAL", ["ExecutionFailed"]),
    ],
)
def test_the_level_filters_events_as_aws_does(
    logged: Logged, apis: FakeApis, connection: str, level: str, expected: list[str]
) -> None:
    group, arn = run_logged(logged, failing(apis, connection), level)
    records = logged.records(group, arn, ended)
    assert [record["type"] for record in records] == expected
    failed = records[-1]["details"]
    assert failed == {"error": "Broken", "cause": "the API failed"}


def test_level_off_writes_nothing(logged: Logged, apis: FakeApis, connection: str) -> None:
    group, arn = run_logged(logged, failing(apis, connection), "OFF")
    assert logged.server.context.execution_logs.flush()
    assert not (logged.directory / log_group_file_name(group)).exists()
    assert history(logged.server, arn)[-1]["type"] == "ExecutionFailed"


def test_without_execution_data_no_input_output_or_parameters(
    logged: Logged, apis: FakeApis, connection: str
) -> None:
    group, arn = run_logged(logged, succeeding(apis, connection), "ALL", include=False)
    records = logged.records(group, arn, ended)
    assert records[0]["details"] == {"roleArn": "arn:aws:iam::123456789012:role/stepline-test"}
    scheduled = next(r for r in records if r["type"] == "TaskScheduled")
    assert "parameters" not in scheduled["details"]
    assert scheduled["details"]["resourceType"] == "http"
    for record in records:
        assert not {"input", "output", "parameters"} & set(record["details"]), record


def test_stop_execution_logs_execution_aborted(logged: Logged) -> None:
    group = unique("aborts")
    machine = create_machine(
        logged.server,
        {"StartAt": "Nap", "States": {"Nap": {"Type": "Wait", "Seconds": 60, "End": True}}},
        loggingConfiguration=logging_configuration("FATAL", group),
    )
    sfn = logged.server.sfn
    arn = sfn.start_execution(stateMachineArn=machine)["executionArn"]
    deadline = time.monotonic() + _BOUND_SECONDS
    for _ in range(1000):
        if any(e["type"] == "WaitStateEntered" for e in history(logged.server, arn)):
            break
        assert time.monotonic() < deadline, "the Wait state was not entered"
        time.sleep(0.02)
    sfn.stop_execution(executionArn=arn, error="Operator", cause="stopped by a test")
    records = logged.records(group, arn, ended)
    last = history(logged.server, arn)[-1]
    assert [record["type"] for record in records] == ["ExecutionAborted"]
    assert records[0]["id"] == str(last["id"])
    assert records[0]["details"] == {"error": "Operator", "cause": "stopped by a test"}


# -------------------------------------------------------------------------------- Express


def express_definition() -> dict[str, Any]:
    return {
        "StartAt": "Double",
        "States": {
            "Double": {"Type": "Pass", "Parameters": {"n.$": "$.n"}, "Next": "Done"},
            "Done": {"Type": "Succeed"},
        },
    }


def test_express_sync_and_async_executions_are_logged(logged: Logged) -> None:
    group = unique("express")
    machine = create_machine(
        logged.server,
        express_definition(),
        kind="EXPRESS",
        loggingConfiguration=logging_configuration("ALL", group),
    )
    sync = logged.server.sfn.start_sync_execution(stateMachineArn=machine, input='{"n": 2}')
    assert sync["status"] == "SUCCEEDED"
    records = logged.records(group, sync["executionArn"], ended)
    assert [record["type"] for record in records] == [
        "ExecutionStarted",
        "PassStateEntered",
        "PassStateExited",
        "SucceedStateEntered",
        "SucceedStateExited",
        "ExecutionSucceeded",
    ]
    assert [record["id"] for record in records] == ["1", "2", "3", "4", "5", "6"]
    assert json.loads(records[-1]["details"]["output"]) == {"n": 2}
    assert ":express:" in records[0]["execution_arn"]

    started = logged.server.sfn.start_execution(stateMachineArn=machine, input='{"n": 3}')
    records = logged.records(group, started["executionArn"], ended)
    assert records[-1]["type"] == "ExecutionSucceeded"
    assert json.loads(records[0]["details"]["input"]) == {"n": 3}


def test_express_time_limit_logs_execution_timed_out(
    own_server: Callable[..., ServiceServer], tmp_path: Path
) -> None:
    logs = tmp_path / "logs"
    server = own_server("memory", f"dir:{logs}", express_max_seconds=1.0)
    group = unique("limits")
    machine = create_machine(
        server,
        {"StartAt": "Nap", "States": {"Nap": {"Type": "Wait", "Seconds": 30, "End": True}}},
        kind="EXPRESS",
        loggingConfiguration=logging_configuration("ERROR", group),
    )
    answer = server.sfn.start_sync_execution(stateMachineArn=machine)
    assert answer["status"] == "TIMED_OUT"
    records = Logged(server, logs).records(group, answer["executionArn"], ended)
    assert [record["type"] for record in records] == ["ExecutionTimedOut"]
    assert records[0]["details"]["error"] == "States.Timeout"
    assert records[0]["id"] == "3"  # after ExecutionStarted and WaitStateEntered


# ------------------------------------------------------------------------- sinks, shutdown


def test_a_file_sink_has_every_record_once_the_server_stopped(
    own_server: Callable[..., ServiceServer], tmp_path: Path
) -> None:
    path = tmp_path / "out" / "records.jsonl"
    server = own_server("sqlite", f"file:{path}")
    machine = create_machine(
        server,
        express_definition(),
        kind="EXPRESS",
        loggingConfiguration=logging_configuration("ALL", unique("a")),
    )
    standard = create_machine(
        server,
        {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}},
        loggingConfiguration=logging_configuration("ALL", unique("b")),
    )
    express_arns = [
        server.sfn.start_execution(stateMachineArn=machine, input=json.dumps({"n": n}))[
            "executionArn"
        ]
        for n in range(20)
    ]
    standard_arn = server.sfn.start_execution(stateMachineArn=standard)["executionArn"]
    server.stop()
    records = [json.loads(line) for line in path.read_text().splitlines()]
    ends = {r["execution_arn"] for r in records if r["type"] == "ExecutionSucceeded"}
    assert ends == {*express_arns, standard_arn}
