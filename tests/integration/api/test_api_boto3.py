"""Real boto3 clients against ``stepline.api`` served by uvicorn on 127.0.0.1.

Each protocol gets a round trip boto3 must parse (timestamps become datetimes, XML lists become
lists) and errors it must raise as ClientError with AWS's code, message and HTTP status, with
SigV4 verification off and on. StartSyncExecution goes to boto3's ``sync-`` host, reached
through uvicorn as an HTTP proxy so that no name resolution is needed.
"""

from __future__ import annotations

import datetime as dt
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
import uvicorn
from botocore import UNSIGNED
from botocore.config import Config
from botocore.exceptions import ClientError

from stepline._secret import Secret
from stepline.api import RequestContext, ServiceError, SigV4Verifier, create_app

ARN = "arn:aws:states:us-east-1:123456789012:stateMachine:demo"
CREATED = dt.datetime(2024, 5, 6, 7, 8, 9, 250000, tzinfo=dt.UTC)
KEY_ID, SECRET = "AKIDSTEPLINETEST", "stepline-test-secret-value"


async def list_state_machines(_input: dict[str, Any], _ctx: RequestContext) -> dict[str, Any]:
    return {
        "stateMachines": [
            {"stateMachineArn": ARN, "name": "demo", "type": "STANDARD", "creationDate": CREATED}
        ],
        "nextToken": None,
    }


async def describe_state_machine(input_: dict[str, Any], _ctx: RequestContext) -> dict[str, Any]:
    raise ServiceError(
        "StateMachineDoesNotExist", f"State Machine Does Not Exist: '{input_['stateMachineArn']}'"
    )


async def start_sync_execution(input_: dict[str, Any], ctx: RequestContext) -> dict[str, Any]:
    return {
        "executionArn": ARN.replace("stateMachine", "express") + ":run",
        "stateMachineArn": input_["stateMachineArn"],
        "name": "run",
        "startDate": CREATED,
        "stopDate": CREATED + dt.timedelta(milliseconds=12),
        "status": "SUCCEEDED",
        "output": f'{{"host": "{ctx.host}", "caller": "{ctx.access_key_id}"}}',
        "billingDetails": {"billedMemoryUsedInMB": 64, "billedDurationInMilliseconds": 100},
    }


async def describe_connection(input_: dict[str, Any], _ctx: RequestContext) -> dict[str, Any]:
    if input_["Name"] == "missing":
        raise ServiceError("ResourceNotFoundException", "Failed to describe the connection(s).")
    return {
        "ConnectionArn": f"arn:aws:events:us-east-1:123456789012:connection/{input_['Name']}/1",
        "Name": input_["Name"],
        "ConnectionState": "AUTHORIZED",
        "AuthorizationType": "API_KEY",
        "CreationTime": CREATED,
        "LastModifiedTime": CREATED,
        "AuthParameters": {"ApiKeyAuthParameters": {"ApiKeyName": "x-api-key"}},
    }


async def get_role(input_: dict[str, Any], _ctx: RequestContext) -> dict[str, Any]:
    if input_["RoleName"] == "missing":
        raise ServiceError("NoSuchEntity", "The role with name missing cannot be found.")
    return {
        "Role": {
            "Path": "/service-role/",
            "RoleName": input_["RoleName"],
            "RoleId": "AROAEXAMPLEEXAMPLE01",
            "Arn": f"arn:aws:iam::123456789012:role/service-role/{input_['RoleName']}",
            "CreateDate": CREATED,
            "AssumeRolePolicyDocument": "%7B%22Version%22%3A%222012-10-17%22%7D",
            "Tags": [{"Key": "team", "Value": "flows"}],
        }
    }


async def crash(_input: dict[str, Any], _ctx: RequestContext) -> dict[str, Any]:
    raise RuntimeError("connection string postgres://admin:hunter2@db")


HANDLERS = {
    "states:ListStateMachines": list_state_machines,
    "states:DescribeStateMachine": describe_state_machine,
    "states:StartSyncExecution": start_sync_execution,
    "states:ListActivities": crash,
    "events:DescribeConnection": describe_connection,
    "iam:GetRole": get_role,
}


class LiveServer:
    """uvicorn serving an app on 127.0.0.1:<free port> in a thread."""

    def __init__(self, app: Any) -> None:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        config = uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> LiveServer:
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            assert time.monotonic() < deadline, "uvicorn did not start within 10 s"
            assert self.thread.is_alive(), "uvicorn stopped while starting"
            time.sleep(0.02)
        return self

    def __exit__(self, *_exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(10)

    def client(
        self, service: str, *, host: str = "127.0.0.1", secret: str = SECRET, **config: Any
    ) -> Any:
        return boto3.client(
            service,
            endpoint_url=f"http://{host}:{self.port}",
            region_name="us-east-1",
            aws_access_key_id=KEY_ID,
            aws_secret_access_key=secret,
            # One attempt: a 500 must surface at once, not after boto3's retries.
            config=Config(retries={"max_attempts": 1, "mode": "standard"}, **config),
        )


@pytest.fixture(scope="module")
def open_server() -> Iterator[LiveServer]:
    with LiveServer(create_app(HANDLERS)) as live:
        yield live


@pytest.fixture(scope="module")
def signed_server() -> Iterator[LiveServer]:
    auth = SigV4Verifier({KEY_ID: Secret(SECRET)})
    with LiveServer(create_app(HANDLERS, auth=auth)) as live:
        yield live


def client_error(call: Any, **kwargs: Any) -> dict[str, Any]:
    with pytest.raises(ClientError) as info:
        call(**kwargs)
    return info.value.response


def test_stepfunctions_round_trip(open_server: LiveServer) -> None:
    sfn = open_server.client("stepfunctions")
    (machine,) = sfn.list_state_machines()["stateMachines"]
    assert machine["creationDate"] == CREATED
    assert isinstance(machine["creationDate"], dt.datetime)
    error = client_error(sfn.describe_state_machine, stateMachineArn=ARN)
    assert error["Error"]["Code"] == "StateMachineDoesNotExist"
    assert error["Error"]["Message"] == f"State Machine Does Not Exist: '{ARN}'"
    assert error["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert error["ResponseMetadata"]["RequestId"]
    with pytest.raises(sfn.exceptions.StateMachineDoesNotExist):
        sfn.describe_state_machine(stateMachineArn=ARN)


def test_stepfunctions_validation_and_unsupported(open_server: LiveServer) -> None:
    sfn = open_server.client("stepfunctions", parameter_validation=False)
    error = client_error(sfn.list_state_machines, maxResults=5000)
    assert error["Error"]["Code"] == "ValidationException"
    assert error["Error"]["Message"] == (
        "1 validation error detected: Value '5000' at 'maxResults' failed to satisfy "
        "constraint: Member must have value less than or equal to 1000"
    )
    unsupported = client_error(sfn.send_task_success, taskToken="t", output="{}")
    assert unsupported["Error"]["Code"] == "UnsupportedOperation"
    assert "SendTaskSuccess" in unsupported["Error"]["Message"]


def test_start_sync_execution_on_the_sync_host(open_server: LiveServer) -> None:
    # boto3 puts "sync-" before the endpoint's host name (not before an IP address); the
    # request reaches uvicorn through it as a proxy, Host header and all.
    proxy = {"http": f"http://127.0.0.1:{open_server.port}"}
    sfn = open_server.client("stepfunctions", host="localhost", proxies=proxy)
    result = sfn.start_sync_execution(stateMachineArn=ARN)
    assert f'"host": "sync-localhost:{open_server.port}"' in result["output"]
    assert result["stopDate"] - result["startDate"] == dt.timedelta(milliseconds=12)
    assert result["billingDetails"]["billedDurationInMilliseconds"] == 100


def test_internal_failure_hides_details(open_server: LiveServer) -> None:
    sfn = open_server.client("stepfunctions")
    error = client_error(sfn.list_activities)
    assert error["Error"]["Code"] == "InternalFailure"
    assert error["ResponseMetadata"]["HTTPStatusCode"] == 500
    assert "hunter2" not in error["Error"]["Message"]
    assert error["ResponseMetadata"]["RequestId"] in error["Error"]["Message"]


def test_events_connection(open_server: LiveServer) -> None:
    events = open_server.client("events")
    connection = events.describe_connection(Name="orders")
    assert connection["CreationTime"] == CREATED
    assert connection["AuthParameters"]["ApiKeyAuthParameters"] == {"ApiKeyName": "x-api-key"}
    error = client_error(events.describe_connection, Name="missing")
    assert error["Error"]["Code"] == "ResourceNotFoundException"
    with pytest.raises(events.exceptions.ResourceNotFoundException):
        events.describe_connection(Name="missing")


def test_iam_xml(open_server: LiveServer) -> None:
    iam = open_server.client("iam")
    role = iam.get_role(RoleName="worker")["Role"]
    assert role["CreateDate"] == CREATED
    assert role["Tags"] == [{"Key": "team", "Value": "flows"}]
    assert role["AssumeRolePolicyDocument"] == {"Version": "2012-10-17"}
    error = client_error(iam.get_role, RoleName="missing")
    assert error["Error"]["Code"] == "NoSuchEntity"
    assert error["ResponseMetadata"]["HTTPStatusCode"] == 404
    with pytest.raises(iam.exceptions.NoSuchEntityException):
        iam.get_role(RoleName="missing")
    invalid = client_error(
        open_server.client("iam", parameter_validation=False).get_role, RoleName="no spaces"
    )
    assert invalid["Error"]["Code"] == "ValidationError"
    assert "at 'roleName'" in invalid["Error"]["Message"]


def test_sigv4_accepts_the_right_key(signed_server: LiveServer) -> None:
    sfn = signed_server.client("stepfunctions")
    assert sfn.list_state_machines()["stateMachines"][0]["name"] == "demo"
    proxy = {"http": f"http://127.0.0.1:{signed_server.port}"}
    sync = signed_server.client("stepfunctions", host="localhost", proxies=proxy)
    assert f'"caller": "{KEY_ID}"' in sync.start_sync_execution(stateMachineArn=ARN)["output"]
    assert signed_server.client("iam").get_role(RoleName="worker")["Role"]["RoleName"] == "worker"
    assert signed_server.client("events").describe_connection(Name="c")["Name"] == "c"


def test_sigv4_refusals_per_protocol(signed_server: LiveServer) -> None:
    bad_sfn = signed_server.client("stepfunctions", secret="not-the-secret")
    error = client_error(bad_sfn.list_state_machines)
    assert error["Error"]["Code"] == "InvalidSignatureException"
    assert error["Error"]["Message"].startswith("The request signature we calculated does not")
    assert error["ResponseMetadata"]["HTTPStatusCode"] == 400
    bad_iam = signed_server.client("iam", secret="not-the-secret")
    iam_error = client_error(bad_iam.get_role, RoleName="worker")
    assert (iam_error["Error"]["Code"], iam_error["ResponseMetadata"]["HTTPStatusCode"]) == (
        "SignatureDoesNotMatch",
        403,
    )
    stranger = boto3.client(
        "stepfunctions",
        endpoint_url=f"http://127.0.0.1:{signed_server.port}",
        region_name="eu-west-1",
        aws_access_key_id="AKIDNOBODY",
        aws_secret_access_key=SECRET,
        config=Config(retries={"max_attempts": 1}),
    )
    assert client_error(stranger.list_state_machines)["Error"] == {
        "Code": "UnrecognizedClientException",
        "Message": "The security token included in the request is invalid.",
    }
    unsigned = boto3.client(
        "events",
        endpoint_url=f"http://127.0.0.1:{signed_server.port}",
        region_name="us-east-1",
        config=Config(signature_version=UNSIGNED, retries={"max_attempts": 1}),
    )
    assert client_error(unsigned.describe_connection, Name="c")["Error"]["Code"] == (
        "MissingAuthenticationTokenException"
    )
