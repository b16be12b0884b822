"""A connection's limits hold across processes (issue #7): one API process, two workers.

The connection declares ``MaxConcurrency`` or ``RatePerSecond`` (stepline's ``Stepline``
block, sent as raw JSON: boto3 drops members its model does not know). Executions spread over
two ``stepline worker`` processes on one database; the local API server sees at most the cap
in flight at once, and requests no faster than the rate allows (a lower bound on the time the
requests span: the limiter guarantees it however slow the machine is).
"""

from __future__ import annotations

import json
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Final

import pytest

from support.fake_apis import FakeApis
from support.serve_process import ServeProcess, base_environment
from support.worker_process import WorkerProcess

ROLE_ARN: Final = "arn:aws:iam::123456789012:role/pacing"
EXECUTIONS: Final = 12


@pytest.fixture
def apis() -> Iterator[FakeApis]:
    with FakeApis() as server:
        server.slow_seconds = 0.2
        yield server


@pytest.fixture
def deployment(tmp_path: Path) -> Iterator[tuple[ServeProcess, list[WorkerProcess]]]:
    database = f"sqlite:///{tmp_path / 'shared.db'}"
    # Three executions at most per worker: both workers take part.
    env = base_environment(
        tmp_path,
        STEPLINE_HTTP_ALLOW="127.0.0.0/8",
        STEPLINE_DATABASE_URL=database,
        STEPLINE_WORKER_CONCURRENCY="3",
    )
    api = ServeProcess(["--no-worker"], env, credentials=("pacing", "test"))
    workers = [WorkerProcess(database, env) for _ in range(2)]
    yield api, workers
    for process in [api, *workers]:
        process.kill()


def _create_connection(api: ServeProcess, name: str, key: str, limits: dict[str, Any]) -> str:
    body = {
        "Name": name,
        "AuthorizationType": "API_KEY",
        "AuthParameters": {
            "ApiKeyAuthParameters": {"ApiKeyName": "Authorization", "ApiKeyValue": f"Bearer {key}"}
        },
        "Stepline": {"Limits": limits},
    }
    request = urllib.request.Request(
        api.endpoint,
        data=json.dumps(body).encode(),
        headers={
            "Content-Type": "application/x-amz-json-1.1",
            "X-Amz-Target": "AWSEvents.CreateConnection",
        },
    )
    with urllib.request.urlopen(request, timeout=10) as reply:
        return str(json.loads(reply.read())["ConnectionArn"])


def _run_all(api: ServeProcess, base_url: str, connection_arn: str, path: str) -> None:
    sfn = api.client("stepfunctions")
    definition = {
        "StartAt": "Call",
        "States": {
            "Call": {
                "Type": "Task",
                "Resource": "arn:aws:states:::http:invoke",
                "Parameters": {
                    "ApiEndpoint": f"{base_url}{path}",
                    "Method": "POST",
                    "Authentication": {"ConnectionArn": connection_arn},
                },
                "End": True,
            }
        },
    }
    machine = sfn.create_state_machine(
        name=f"pacing{path.replace('/', '-')}", definition=json.dumps(definition), roleArn=ROLE_ARN
    )["stateMachineArn"]
    arns = [
        sfn.start_execution(stateMachineArn=machine, name=f"e{i}")["executionArn"]
        for i in range(EXECUTIONS)
    ]
    deadline = time.monotonic() + 60
    statuses: list[str] = []
    while time.monotonic() < deadline:
        statuses = [sfn.describe_execution(executionArn=arn)["status"] for arn in arns]
        if "RUNNING" not in statuses:
            break
        time.sleep(0.2)
    assert statuses == ["SUCCEEDED"] * EXECUTIONS, statuses


def test_concurrency_cap_and_rate_hold_across_worker_processes(
    deployment: tuple[ServeProcess, list[WorkerProcess]], apis: FakeApis
) -> None:
    api, workers = deployment
    capped = _create_connection(api, "capped", apis.secrets.license_key, {"MaxConcurrency": 2})
    _run_all(api, apis.base_url, capped, "/slow")
    # Each worker alone would allow 2 (and runs up to 3 executions at once): 4 without the
    # shared slots.
    assert 1 <= apis.max_in_flight <= 2, apis.max_in_flight

    rate = 10.0
    paced = _create_connection(
        api, "paced", apis.secrets.license_key, {"RatePerSecond": rate, "Burst": 1}
    )
    _run_all(api, apis.base_url, paced, "/echo")
    times = sorted(r.received_at for r in apis.recorded("/echo"))
    assert len(times) == EXECUTIONS
    # One token at a time, refilled at `rate`: the requests span at least (n - 1) / rate,
    # whichever worker sent them (a little slack for the two processes' clocks).
    assert times[-1] - times[0] >= (EXECUTIONS - 1) / rate - 0.05, times
    for worker in workers:
        assert worker.stop() == 0, worker.stderr_tail()
    assert api.stop() == 0
