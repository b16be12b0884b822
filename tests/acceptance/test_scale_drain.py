"""Graceful drain (issue #7): SIGTERM to a worker mid-task hands the execution over at once.

A ``stepline worker`` is in the middle of an HTTP Task (the local API answers after seconds)
when it gets SIGTERM with ``STEPLINE_DRAIN_SECONDS`` shorter than the call: it exits with
status 0 after giving the lease back runnable now, and a second worker finishes the execution
long before the lease (60 s here) would have expired.
"""

from __future__ import annotations

import json
import signal
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Final

import pytest

from support.fake_apis import FakeApis
from support.serve_process import ServeProcess, base_environment
from support.worker_process import WorkerProcess

LEASE_SECONDS: Final = 60.0
# Far below the lease: a run that waited for its lease to expire could not finish in time.
FINISH_WITHIN: Final = 30.0


@pytest.fixture
def apis() -> Iterator[FakeApis]:
    with FakeApis() as server:
        server.slow_seconds = 2.0
        yield server


def test_sigterm_drains_a_worker_and_another_takes_over_at_once(
    tmp_path: Path, apis: FakeApis
) -> None:
    database = f"sqlite:///{tmp_path / 'shared.db'}"
    env = base_environment(
        tmp_path,
        STEPLINE_HTTP_ALLOW="127.0.0.0/8",
        STEPLINE_DATABASE_URL=database,
        STEPLINE_LEASE_SECONDS=str(LEASE_SECONDS),
        STEPLINE_DRAIN_SECONDS="0.2",
    )
    processes: list[ServeProcess | WorkerProcess] = []
    try:
        api = ServeProcess(["--no-worker"], env, credentials=("drain", "test"))
        processes.append(api)
        first = WorkerProcess(database, env)
        processes.append(first)
        connection = apis.api_key_connection(api.client("events"), "drain")
        sfn = api.client("stepfunctions")
        definition = {
            "StartAt": "Call",
            "States": {
                "Call": {
                    "Type": "Task",
                    "Resource": "arn:aws:states:::http:invoke",
                    "Parameters": {
                        "ApiEndpoint": f"{apis.base_url}/slow",
                        "Method": "POST",
                        "Authentication": {"ConnectionArn": connection},
                    },
                    "End": True,
                }
            },
        }
        machine = sfn.create_state_machine(
            name="drain",
            definition=json.dumps(definition),
            roleArn="arn:aws:iam::123456789012:role/drain",
        )["stateMachineArn"]
        arn = sfn.start_execution(stateMachineArn=machine)["executionArn"]
        deadline = time.monotonic() + 20
        while apis.in_flight == 0 and time.monotonic() < deadline:
            time.sleep(0.02)
        assert apis.in_flight == 1, "the first worker did not start the call"

        assert first.stop(signal.SIGTERM) == 0, first.stderr_tail()
        stopped = time.monotonic()
        processes.append(WorkerProcess(database, env))
        status = "RUNNING"
        while status == "RUNNING" and time.monotonic() < stopped + FINISH_WITHIN:
            status = sfn.describe_execution(executionArn=arn)["status"]
            time.sleep(0.1)
        assert status == "SUCCEEDED", processes[-1].stderr_tail()
        # The call in flight at the drain ran again on the second worker (at-least-once).
        assert len(apis.recorded("/slow")) == 2
        types = [e["type"] for e in sfn.get_execution_history(executionArn=arn)["events"]]
        assert types.count("TaskSucceeded") == 1, types
    finally:
        for process in processes:
            process.kill()
