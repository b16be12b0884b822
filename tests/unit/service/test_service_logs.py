"""Execution log records: AWS's level table, the record shape, execution data left out or
truncated, the sinks (stdout, a file, a directory per log group), and the writer's flushing.
"""

from __future__ import annotations

import json
import stat
from pathlib import Path
from typing import Any

import orjson
import pytest

from stepline._log_records import (
    TRUNCATE_BYTES,
    event_rank,
    log_group_name,
    log_lines,
    settings_from_text,
)
from stepline.service._logs import ExecutionLogs
from stepline.service._logs_sink import (
    DirSink,
    FileSink,
    LogWriter,
    StreamSink,
    log_group_file_name,
    parse_sink,
)
from stepline.service._sm_config import logging_text
from stepline.store import HistoryEventRecord, StateMachineRevisionRecord

GROUP_ARN = "arn:aws:logs:us-east-1:123456789012:log-group:/aws/vendedlogs/states/orders:*"
ARN = "arn:aws:states:us-east-1:123456789012:execution:orders:run-1"

# AWS's table ("Log levels", Step Functions developer guide): the event types logged at ERROR
# and at FATAL; every other type is logged at ALL only.
AWS_ERROR = {
    "ExecutionAborted",
    "ExecutionFailed",
    "ExecutionTimedOut",
    "FailStateEntered",
    "LambdaFunctionFailed",
    "LambdaFunctionScheduleFailed",
    "LambdaFunctionStartFailed",
    "LambdaFunctionTimedOut",
    "MapIterationAborted",
    "MapIterationFailed",
    "MapStateAborted",
    "MapStateFailed",
    "ParallelStateAborted",
    "ParallelStateFailed",
    "TaskFailed",
    "TaskStartFailed",
    "TaskStateAborted",
    "TaskSubmitFailed",
    "TaskTimedOut",
    "WaitStateAborted",
}
AWS_FATAL = {"ExecutionAborted", "ExecutionFailed", "ExecutionTimedOut"}
AWS_ALL_ONLY = {
    "ChoiceStateEntered",
    "ChoiceStateExited",
    "ExecutionStarted",
    "ExecutionSucceeded",
    "LambdaFunctionScheduled",
    "LambdaFunctionStarted",
    "LambdaFunctionSucceeded",
    "MapIterationStarted",
    "MapIterationSucceeded",
    "MapStateEntered",
    "MapStateExited",
    "MapStateStarted",
    "MapStateSucceeded",
    "ParallelStateEntered",
    "ParallelStateExited",
    "ParallelStateStarted",
    "ParallelStateSucceeded",
    "PassStateEntered",
    "PassStateExited",
    "SucceedStateEntered",
    "SucceedStateExited",
    "TaskScheduled",
    "TaskStarted",
    "TaskStateEntered",
    "TaskStateExited",
    "TaskSubmitted",
    "TaskSucceeded",
    "WaitStateEntered",
    "WaitStateExited",
}


def settings(level: str = "ALL", include: bool = True) -> Any:
    text = logging_text(
        {
            "level": level,
            "includeExecutionData": include,
            "destinations": [{"cloudWatchLogsLogGroup": {"logGroupArn": GROUP_ARN}}],
        }
    )
    return settings_from_text(text)


def record(
    event_id: int, event_type: str, details: dict[str, Any] | None = None, previous: int = 0
) -> HistoryEventRecord:
    text = None if details is None else json.dumps(details)
    return HistoryEventRecord(event_id, previous, 1_713_959_670.6805, event_type, text)


def lines_of(level: str, events: list[HistoryEventRecord], include: bool = True) -> list[Any]:
    return [json.loads(line) for line in log_lines(settings(level, include), ARN, 0, events)]


# -- levels ------------------------------------------------------------------------------------


@pytest.mark.parametrize("event_type", sorted(AWS_ERROR | AWS_ALL_ONLY))
def test_each_event_type_is_logged_at_the_levels_of_aws_table(event_type: str) -> None:
    logged = {
        level for level in ("ALL", "ERROR", "FATAL") if lines_of(level, [record(1, event_type, {})])
    }
    expected = {"ALL"}
    if event_type in AWS_ERROR:
        expected.add("ERROR")
    if event_type in AWS_FATAL:
        expected.add("FATAL")
    assert logged == expected


def test_later_failure_types_follow_the_same_rule() -> None:
    assert event_rank("ActivityFailed") == event_rank("ActivityTimedOut") == 1
    assert event_rank("ActivityScheduleFailed") == event_rank("MapRunFailed") == 1
    assert event_rank("ActivityScheduled") == event_rank("ExecutionRedriven") == 0


def test_off_and_missing_configurations_log_nothing() -> None:
    assert settings_from_text(None) is None
    assert settings_from_text(logging_text(None)) is None
    assert settings_from_text(logging_text({"level": "OFF"})) is None
    assert settings_from_text("not json") is None


def test_settings_name_the_log_group() -> None:
    found = settings("ERROR", include=False)
    assert found.log_group == "/aws/vendedlogs/states/orders"
    assert found.level == "ERROR"
    assert found.include_execution_data is False
    assert log_group_name("arn:aws:logs:eu-west-1:123456789012:log-group:plain:*") == "plain"


# -- the record --------------------------------------------------------------------------------


def test_a_record_has_aws_members_in_aws_order_with_string_values() -> None:
    details = {"name": "Charge", "input": '{"a":1}', "inputDetails": {"truncated": False}}
    raw = log_lines(settings(), ARN, 2, [record(3, "TaskStateEntered", details, previous=2)])
    assert len(raw) == 1 and raw[0].endswith(b"\n")
    parsed = json.loads(raw[0])
    assert list(parsed) == [
        "id",
        "type",
        "details",
        "previous_event_id",
        "event_timestamp",
        "execution_arn",
        "redrive_count",
    ]
    assert parsed == {
        "id": "3",
        "type": "TaskStateEntered",
        "details": details,
        "previous_event_id": "2",
        "event_timestamp": "1713959670680",
        "execution_arn": ARN,
        "redrive_count": "2",
    }


def test_an_event_without_details_has_empty_details() -> None:
    assert lines_of("ALL", [record(5, "WaitStateAborted")])[0]["details"] == {}


def test_without_execution_data_inputs_outputs_and_parameters_are_left_out() -> None:
    events = [
        record(
            1,
            "ExecutionStarted",
            {"input": "{}", "inputDetails": {"truncated": False}, "roleArn": "arn:role"},
        ),
        record(
            2,
            "TaskScheduled",
            {
                "resourceType": "http",
                "resource": "invoke",
                "region": "us-east-1",
                "parameters": '{"ApiEndpoint":"https://x"}',
            },
        ),
        record(
            3,
            "PassStateExited",
            {
                "name": "P",
                "output": "1",
                "outputDetails": {"truncated": False},
                "assignedVariables": {"x": "1"},
                "assignedVariablesDetails": {"truncated": False},
            },
        ),
        record(4, "ExecutionFailed", {"error": "E", "cause": "C"}),
    ]
    assert [line["details"] for line in lines_of("ALL", events, include=False)] == [
        {"roleArn": "arn:role"},
        {"resourceType": "http", "resource": "invoke", "region": "us-east-1"},
        {"name": "P"},
        {"error": "E", "cause": "C"},
    ]


def test_an_escaped_input_over_248_kb_is_truncated_and_marked() -> None:
    # Quotes double when escaped: 130,000 of them are 260,000 escaped bytes.
    big = '"' * 130_000
    small = "x" * 1000
    events = [
        record(1, "ExecutionStarted", {"input": big, "inputDetails": {"truncated": False}}),
        record(2, "ExecutionSucceeded", {"output": small, "outputDetails": {"truncated": False}}),
    ]
    first, second = lines_of("ALL", events)
    cut = first["details"]["input"]
    assert big.startswith(cut)
    assert len(orjson.dumps(cut)) - 2 <= TRUNCATE_BYTES < len(orjson.dumps(cut + '"')) - 2
    assert first["details"]["inputDetails"] == {"truncated": True}
    assert second["details"] == {"output": small, "outputDetails": {"truncated": False}}


def test_non_ascii_data_is_measured_in_bytes() -> None:
    text = "é" * 130_000  # 260,000 bytes of UTF-8
    (line,) = lines_of("ALL", [record(1, "TaskSucceeded", {"output": text})])
    assert line["details"]["outputDetails"] == {"truncated": True}
    assert len(line["details"]["output"].encode()) <= TRUNCATE_BYTES


# -- sinks -------------------------------------------------------------------------------------


def test_sink_specs() -> None:
    assert isinstance(parse_sink("stdout"), StreamSink)
    assert isinstance(parse_sink(" STDERR "), StreamSink)
    assert parse_sink("off") is None
    file_sink = parse_sink("file:/tmp/x/records.jsonl")
    assert isinstance(file_sink, FileSink) and file_sink.path == Path("/tmp/x/records.jsonl")
    dir_sink = parse_sink("dir:/tmp/x")
    assert isinstance(dir_sink, DirSink) and dir_sink.directory == Path("/tmp/x")


@pytest.mark.parametrize("spec", ["", "file:", "dir:  ", "syslog", "http://collector"])
def test_a_bad_sink_spec_says_what_is_accepted(spec: str) -> None:
    with pytest.raises(ValueError, match=r"STEPLINE_EXECUTION_LOGS=.*stdout.*file:.*dir:.*off"):
        parse_sink(spec)


def test_the_environment_chooses_the_sink(tmp_path: Path) -> None:
    logs = ExecutionLogs.from_environment({"STEPLINE_DATA_DIR": str(tmp_path)})
    assert logs.describe() == f"directory {tmp_path / 'execution-logs'}"
    memory = ExecutionLogs.from_environment({"STEPLINE_DATA_DIR": str(tmp_path)}, in_memory=True)
    assert memory.describe() == "stdout"
    off = ExecutionLogs.from_environment({"STEPLINE_EXECUTION_LOGS": "off"})
    assert not off.enabled and off.describe() == "off"
    with pytest.raises(ValueError, match="STEPLINE_EXECUTION_LOGS='nowhere'"):
        ExecutionLogs.from_environment({"STEPLINE_EXECUTION_LOGS": "nowhere"})


def test_log_group_files_stay_inside_the_directory(tmp_path: Path) -> None:
    assert log_group_file_name("/aws/vendedlogs/states/orders") == (
        "%2Faws%2Fvendedlogs%2Fstates%2Forders.jsonl"
    )
    sink = DirSink(tmp_path / "logs")
    for group in ("..", "../escape", "a/b", "#x"):
        sink.write(group, [b"{}\n"])
    sink.close()
    made = sorted(path.name for path in (tmp_path / "logs").iterdir())
    assert made == sorted(["%23x.jsonl", "...jsonl", "..%2Fescape.jsonl", "a%2Fb.jsonl"])
    assert sorted(path.name for path in tmp_path.iterdir()) == ["logs"]
    for path in (tmp_path / "logs").iterdir():
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE((tmp_path / "logs").stat().st_mode) == 0o700


def test_stdout_sink_writes_json_lines(capfd: pytest.CaptureFixture[str]) -> None:
    writer = LogWriter(StreamSink("stdout"))
    writer.submit("g", lambda: [b'{"id":"1"}\n', b'{"id":"2"}\n'])
    writer.close()
    assert capfd.readouterr().out.splitlines() == ['{"id":"1"}', '{"id":"2"}']


# -- the writer --------------------------------------------------------------------------------


def test_close_writes_everything_queued(tmp_path: Path) -> None:
    path = tmp_path / "records.jsonl"
    writer = LogWriter(FileSink(path))
    for index in range(500):
        writer.submit("g", lambda index=index: [b'{"n":%d}\n' % index])  # type: ignore[misc]
    writer.close()
    lines = path.read_bytes().splitlines()
    assert [json.loads(line)["n"] for line in lines] == list(range(500))
    # After close, records are dropped, not written and not kept.
    writer.submit("g", lambda: [b"late\n"])
    assert path.read_bytes().splitlines() == lines


def test_flush_waits_for_the_records_handed_over(tmp_path: Path) -> None:
    path = tmp_path / "records.jsonl"
    writer = LogWriter(FileSink(path))
    assert writer.flush()  # nothing handed over: nothing to wait for
    writer.submit("g", lambda: [b"1\n"])
    assert writer.flush()
    assert path.read_bytes() == b"1\n"
    writer.close()


def test_no_thread_until_the_first_record() -> None:
    writer = LogWriter(StreamSink("stdout"))
    assert writer._thread is None
    writer.close()
    assert writer._thread is None


def test_a_sink_that_fails_is_reported_once_and_the_writer_goes_on(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("")
    good = tmp_path / "good"
    writer = LogWriter(DirSink(blocker / "logs"))
    writer.submit("g", lambda: [b'{"secret-free":1}\n'])
    writer.submit("g", lambda: [b"2\n"])
    assert writer.flush()
    writer.submit("g", lambda: [b"3\n"])
    assert writer.flush()
    writer.close()
    warnings = [r for r in caplog.records if "execution logs" in r.getMessage()]
    assert len(warnings) == 1
    assert "not-a-dir" in warnings[0].getMessage()
    assert "secret-free" not in caplog.text
    # A formatting bug in one record does not stop the others.
    writer = LogWriter(FileSink(good))
    writer.submit("g", _broken_render)
    writer.submit("g", lambda: [b"ok\n"])
    writer.close()
    assert good.read_bytes() == b"ok\n"


def _broken_render() -> list[bytes]:
    raise ValueError("a formatting bug")


def test_settings_are_cached_per_configuration_and_revision(tmp_path: Path) -> None:
    logs = ExecutionLogs.to(f"dir:{tmp_path}")
    text = logging_text(
        {"level": "FATAL", "destinations": [{"cloudWatchLogsLogGroup": {"logGroupArn": GROUP_ARN}}]}
    )
    revision = StateMachineRevisionRecord("r1", "arn:sm", "{}", "arn:role", 0.0, text)
    first = logs.for_revision(revision, ARN)
    assert first is not None and first.settings.level == "FATAL"
    assert logs.settings_for(revision) is first.settings
    off = StateMachineRevisionRecord("r2", "arn:sm", "{}", "arn:role", 0.0, logging_text(None))
    assert logs.for_revision(off, ARN) is None
    assert ExecutionLogs(None).for_revision(revision, ARN) is None
    logs.close()
