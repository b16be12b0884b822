"""Scale-out (issue #7): 2 API processes and 3 workers on one database, ``kill -9`` mid-run.

Real processes: two ``stepline serve --no-worker`` and three ``stepline worker`` on one
database — PostgreSQL when ``STEPLINE_TEST_POSTGRES_URL`` is set (each run in a schema of its
own, dropped afterwards), else one SQLite file — with short leases
(``STEPLINE_LEASE_SECONDS``) so that work held by a killed process is taken over quickly.
1,000 Standard executions, started through both API processes, mix HTTP Tasks against a local
server (one that fails once per execution, so every execution retries), Waits of 1 or 2
seconds, and a Map. Once some have succeeded, one worker and one API process get SIGKILL; the
worker is started again, the API process is not (clients go on with the other one). Then:

- every execution finishes SUCCEEDED;
- no history shows a state entered more often than the definition enters it, or a task result
  recorded twice; event ids run 1..n and every ``previousEventId`` names an earlier event.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Final

import pytest

from support.fake_apis import FakeApis
from support.histories import full_history, history_problems, list_executions
from support.postgres import POSTGRES_URL, drop_schema, new_schema, schema_url
from support.serve_process import ServeProcess, base_environment
from support.worker_process import WorkerProcess

EXECUTIONS: Final = 1000
ITEMS: Final = ("a", "b", "c")
ROLE_ARN: Final = "arn:aws:iam::123456789012:role/scale-test"
# Short enough that executions held by the killed worker resume within the test, long enough
# that a worker slowed by a loaded machine still renews in time (a lease lost to a slow renewal
# makes executions bounce between workers, each re-running its task).
LEASE_SECONDS: Final = "8"
_FINISH_TIMEOUT: Final = 90.0
_CLIENT_THREADS: Final = 8


def _definition(base_url: str, connection_arn: str) -> dict[str, Any]:
    auth = {"ConnectionArn": connection_arn}
    return {
        "StartAt": "Prepare",
        "States": {
            "Prepare": {"Type": "Pass", "Result": "ready", "ResultPath": "$.ready", "Next": "Call"},
            "Call": {
                "Type": "Task",
                "Resource": "arn:aws:states:::http:invoke",
                "Parameters": {
                    "ApiEndpoint.$": f"States.Format('{base_url}/flaky/{{}}', $.key)",
                    "Method": "GET",
                    "Authentication": auth,
                },
                "Retry": [
                    {
                        "ErrorEquals": ["States.ALL"],
                        "IntervalSeconds": 1,
                        "MaxAttempts": 3,
                        "BackoffRate": 1,
                    }
                ],
                "ResultSelector": {"status.$": "$.StatusCode"},
                "ResultPath": "$.called",
                "Next": "Nap",
            },
            "Nap": {"Type": "Wait", "SecondsPath": "$.wait", "Next": "Each"},
            "Each": {
                "Type": "Map",
                "ItemsPath": "$.items",
                "ItemProcessor": {
                    "ProcessorConfig": {"Mode": "INLINE"},
                    "StartAt": "Item",
                    "States": {"Item": {"Type": "Pass", "End": True}},
                },
                "ResultPath": "$.each",
                "Next": "Confirm",
            },
            "Confirm": {
                "Type": "Task",
                "Resource": "arn:aws:states:::http:invoke",
                "Parameters": {
                    "ApiEndpoint": f"{base_url}/slow",
                    "Method": "POST",
                    "Authentication": auth,
                    "RequestBody": {"step": "confirm"},
                },
                "Retry": [{"ErrorEquals": ["States.ALL"], "IntervalSeconds": 1, "MaxAttempts": 2}],
                "ResultSelector": {"ok.$": "$.ResponseBody.ok"},
                "ResultPath": "$.confirmed",
                "Next": "Done",
            },
            "Done": {"Type": "Succeed"},
        },
    }


EXPECTED_ENTERED: Final = Counter(
    {"Prepare": 1, "Call": 1, "Nap": 1, "Each": 1, "Item": len(ITEMS), "Confirm": 1, "Done": 1}
)
TASK_STATES: Final = ("Call", "Confirm")


# ------------------------------------------------------------------------------ processes


def _database_url(tmp_path: Path) -> tuple[str, str | None]:
    """The database URL, and the PostgreSQL schema to drop afterwards (None: SQLite)."""
    if POSTGRES_URL:
        schema = new_schema()
        return schema_url(schema), schema
    return f"sqlite:///{tmp_path / 'shared.db'}", None


class Cluster:
    """The processes of one test; every one still running is killed at the end."""

    def __init__(self, tmp_path: Path) -> None:
        self.database, self.schema = _database_url(tmp_path)
        self.env = base_environment(
            tmp_path,
            STEPLINE_HTTP_ALLOW="127.0.0.0/8",
            STEPLINE_LEASE_SECONDS=LEASE_SECONDS,
            STEPLINE_DRAIN_SECONDS="2",
            # A worker's store operations queue for its few database connections: a shallow
            # queue keeps lease renewals prompt.
            STEPLINE_WORKER_CONCURRENCY="64",
            STEPLINE_DATABASE_URL=self.database,
        )
        self.apis: list[ServeProcess] = []
        self.workers: list[WorkerProcess] = []

    def start_api(self) -> ServeProcess:
        server = ServeProcess(["--no-worker"], self.env, credentials=("scale", "test"))
        self.apis.append(server)
        return server

    def start_worker(self) -> WorkerProcess:
        worker = WorkerProcess(self.database, self.env)
        self.workers.append(worker)
        return worker

    def logs(self) -> str:
        parts = [f"api {i}: {p.stderr_tail(1500)}" for i, p in enumerate(self.apis)]
        parts += [f"worker {i}: {p.stderr_tail(1500)}" for i, p in enumerate(self.workers)]
        return "\n".join(parts)

    def kill_all(self) -> None:
        for process in [*self.apis, *self.workers]:
            process.kill()
        if self.schema is not None:
            drop_schema(self.schema)


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[Cluster]:
    made = Cluster(tmp_path)
    yield made
    made.kill_all()


@pytest.fixture
def apis() -> Iterator[FakeApis]:
    with FakeApis() as server:
        server.flaky_failures = 1  # every execution's first call fails once: Retry runs
        server.slow_seconds = 0.05  # long enough that the kill finds calls in flight
        yield server


# ---------------------------------------------------------------------------------- test


def test_two_apis_three_workers_survive_kill_9_of_a_worker_and_an_api(
    cluster: Cluster, apis: FakeApis
) -> None:
    with ThreadPoolExecutor(5) as pool:
        api_futures = [pool.submit(cluster.start_api) for _ in range(2)]
        worker_futures = [pool.submit(cluster.start_worker) for _ in range(3)]
        api_a, api_b = (future.result() for future in api_futures)
        for future in worker_futures:
            future.result()
    sfn_a = api_a.client("stepfunctions", max_pool_connections=_CLIENT_THREADS)
    sfn_b = api_b.client("stepfunctions", max_pool_connections=_CLIENT_THREADS)
    connection_arn = apis.api_key_connection(api_a.client("events"), "scale")
    # Created on API A, used at once by B and by the workers.
    machine_arn = sfn_b.create_state_machine(
        name="scale",
        definition=json.dumps(_definition(apis.base_url, connection_arn)),
        roleArn=ROLE_ARN,
    )["stateMachineArn"]

    def start(index: int) -> str:
        sfn = sfn_a if index % 2 else sfn_b
        reply = sfn.start_execution(
            stateMachineArn=machine_arn,
            name=f"run-{index:04d}",
            input=json.dumps({"key": f"k{index}", "wait": 1 + index % 2, "items": list(ITEMS)}),
        )
        return str(reply["executionArn"])

    begun = time.monotonic()
    with ThreadPoolExecutor(_CLIENT_THREADS) as pool:
        started = list(pool.map(start, range(EXECUTIONS)))
    started_in = time.monotonic() - begun

    # Kill once some have succeeded: the others are waiting, retrying or calling.
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if len(list_executions(sfn_b, machine_arn, "SUCCEEDED")) >= EXECUTIONS // 10:
            break
        time.sleep(0.1)
    else:
        pytest.fail(f"too few executions succeeded within 60 s:\n{cluster.logs()}")
    cluster.workers[0].kill()
    api_a.kill()
    killed_at = time.time()
    cluster.start_worker()

    deadline = time.monotonic() + _FINISH_TIMEOUT
    while time.monotonic() < deadline:
        if not list_executions(sfn_b, machine_arn, "RUNNING"):
            break
        time.sleep(0.25)
    executions = {item["executionArn"]: item for item in list_executions(sfn_b, machine_arn)}
    running = [arn for arn, item in executions.items() if item["status"] == "RUNNING"]
    assert not running, (
        f"{len(running)} still running {_FINISH_TIMEOUT:.0f} s after the kills: {running[:3]}\n"
        f"{cluster.logs()}"
    )
    assert sorted(executions) == sorted(started)
    statuses = Counter(item["status"] for item in executions.values())
    assert statuses == Counter({"SUCCEEDED": EXECUTIONS}), (statuses, cluster.logs())
    finished_before = sum(
        1 for item in executions.values() if item["stopDate"].timestamp() < killed_at
    )
    assert 0 < finished_before < EXECUTIONS, finished_before  # the kill was mid-run

    with ThreadPoolExecutor(_CLIENT_THREADS) as pool:
        histories = list(pool.map(lambda arn: (arn, full_history(sfn_b, arn)), started))
    problems = [
        problem
        for arn, events in histories
        for problem in history_problems(arn, events, EXPECTED_ENTERED, TASK_STATES)
    ]
    assert not problems, "\n".join(problems[:20])
    for worker in cluster.workers[1:]:
        assert worker.stop() == 0, worker.stderr_tail()
    assert api_b.stop() == 0
    print(f"started {EXECUTIONS} executions in {started_in:.1f} s on {cluster.database}")


def test_activity_and_callback_tokens_work_through_any_api_process(
    cluster: Cluster, apis: FakeApis
) -> None:
    """A task scheduled by a worker reaches a GetActivityTask long poll on another API
    process; SendTaskSuccess and a callback's token complete through either API process; a
    long poll in flight does not hold up that process's SIGTERM."""
    with ThreadPoolExecutor(3) as pool:
        api_a_future, api_b_future = (pool.submit(cluster.start_api) for _ in range(2))
        worker_future = pool.submit(cluster.start_worker)
        api_a, api_b = api_a_future.result(), api_b_future.result()
        worker_future.result()
    sfn_a, sfn_b = api_a.client("stepfunctions"), api_b.client("stepfunctions", read_timeout=70)
    activity = sfn_a.create_activity(name="scale-work")["activityArn"]
    connection_arn = api_a.client("events").create_connection(
        Name="hook",
        AuthorizationType="API_KEY",
        AuthParameters={"ApiKeyAuthParameters": {"ApiKeyName": "x-key", "ApiKeyValue": "k"}},
    )["ConnectionArn"]
    definition = {
        "StartAt": "Work",
        "States": {
            "Work": {"Type": "Task", "Resource": activity, "ResultPath": "$.work", "Next": "Hook"},
            "Hook": {
                "Type": "Task",
                "Resource": "arn:aws:states:::http:invoke.waitForTaskToken",
                "Parameters": {
                    "ApiEndpoint": f"{apis.base_url}/echo",
                    "Method": "POST",
                    "Authentication": {"ConnectionArn": connection_arn},
                    "RequestBody": {"token.$": "$$.Task.Token"},
                },
                "ResultPath": "$.hook",
                "End": True,
            },
        },
    }
    machine = sfn_a.create_state_machine(
        name="tokens", definition=json.dumps(definition), roleArn=ROLE_ARN
    )["stateMachineArn"]
    arn = sfn_a.start_execution(stateMachineArn=machine, input='{"n": 1}')["executionArn"]

    task = sfn_b.get_activity_task(activityArn=activity, workerName="elsewhere")
    assert task.get("taskToken"), "no activity task reached the other API process"
    assert json.loads(task["input"]) == {"n": 1}
    sfn_a.send_task_success(taskToken=task["taskToken"], output='{"done": true}')

    deadline = time.monotonic() + 30
    while not apis.recorded("/echo") and time.monotonic() < deadline:
        time.sleep(0.05)
    (posted,) = apis.recorded("/echo")
    sfn_b.send_task_success(taskToken=posted.json()["token"], output='{"hooked": true}')
    status = "RUNNING"
    while status == "RUNNING" and time.monotonic() < deadline:
        status = sfn_a.describe_execution(executionArn=arn)["status"]
        time.sleep(0.05)
    assert status == "SUCCEEDED", cluster.logs()
    output = json.loads(sfn_a.describe_execution(executionArn=arn)["output"])
    assert output["work"] == {"done": True} and output["hook"] == {"hooked": True}

    # A poll waiting on B when B is told to stop answers "no task" and B exits at once.
    with ThreadPoolExecutor(1) as pool:
        waiting = pool.submit(sfn_b.get_activity_task, activityArn=activity)
        time.sleep(0.5)  # let the poll reach the server
        assert api_b.stop() == 0
        assert "taskToken" not in waiting.result(timeout=30)


def test_a_map_run_goes_on_when_the_worker_driving_it_is_killed(cluster: Cluster) -> None:
    """A Distributed Map started by one ``stepline worker`` (which drives its map run) goes on
    in another worker after the first gets SIGKILL: every STANDARD child runs once, the parent
    succeeds with every item's result in order."""
    with ThreadPoolExecutor(3) as pool:
        api_future = pool.submit(cluster.start_api)
        worker_futures = [pool.submit(cluster.start_worker) for _ in range(2)]
        api = api_future.result()
        for future in worker_futures:
            future.result()
    sfn = api.client("stepfunctions")
    items = list(range(40))
    definition = {
        "StartAt": "Fan",
        "States": {
            "Fan": {
                "Type": "Map",
                "ItemsPath": "$.items",
                "MaxConcurrency": 10,
                "ItemProcessor": {
                    "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
                    "StartAt": "Nap",
                    "States": {
                        "Nap": {"Type": "Wait", "Seconds": 1, "Next": "Echo"},
                        "Echo": {"Type": "Pass", "End": True},
                    },
                },
                "End": True,
            }
        },
    }
    machine = sfn.create_state_machine(
        name="fan", definition=json.dumps(definition), roleArn=ROLE_ARN
    )["stateMachineArn"]
    arn = sfn.start_execution(stateMachineArn=machine, input=json.dumps({"items": items}))[
        "executionArn"
    ]
    deadline = time.monotonic() + 30
    runs: list[dict[str, Any]] = []
    while not runs and time.monotonic() < deadline:
        runs = sfn.list_map_runs(executionArn=arn)["mapRuns"]
        time.sleep(0.1)
    assert runs, cluster.logs()
    map_run = runs[0]["mapRunArn"]
    # Kill both workers once some children are done (whichever drives the map run dies),
    # then start a fresh one: it must take the map run over.
    while time.monotonic() < deadline:
        counts = sfn.describe_map_run(mapRunArn=map_run)["executionCounts"]
        if counts["succeeded"] >= 5:
            break
        time.sleep(0.1)
    for worker in cluster.workers:
        worker.kill()
    cluster.start_worker()

    deadline = time.monotonic() + _FINISH_TIMEOUT
    status = "RUNNING"
    while status == "RUNNING" and time.monotonic() < deadline:
        status = sfn.describe_execution(executionArn=arn)["status"]
        time.sleep(0.25)
    assert status == "SUCCEEDED", cluster.logs()
    assert json.loads(sfn.describe_execution(executionArn=arn)["output"]) == items
    described = sfn.describe_map_run(mapRunArn=map_run)
    assert described["status"] == "SUCCEEDED"
    assert described["executionCounts"]["succeeded"] == len(items)
    assert described["executionCounts"]["total"] == len(items)
    children = [
        item
        for page in sfn.get_paginator("list_executions").paginate(mapRunArn=map_run)
        for item in page["executions"]
    ]
    assert len(children) == len(items)  # none started twice
    assert {child["status"] for child in children} == {"SUCCEEDED"}
    for child in children:
        entered = [
            event
            for event in full_history(sfn, child["executionArn"])
            if event["type"] == "WaitStateEntered"
        ]
        assert len(entered) == 1, child["executionArn"]
