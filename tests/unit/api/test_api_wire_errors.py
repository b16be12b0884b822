"""Routing and error rendering per protocol, read back with botocore's own parsers."""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any
from urllib.parse import urlencode

import orjson
import pytest
from _api_asgi_kit import call, json_call, parse

from stepline.api import RequestContext, ServiceError, create_app

ARN = "arn:aws:states:us-east-1:123456789012:stateMachine:demo"
SEEN: list[RequestContext] = []


async def describe(input_: dict[str, Any], context: RequestContext) -> dict[str, Any]:
    SEEN.append(context)
    if input_["stateMachineArn"].endswith(":missing"):
        raise ServiceError(
            "StateMachineDoesNotExist",
            f"State Machine Does Not Exist: '{input_['stateMachineArn']}'",
        )
    return {
        "stateMachineArn": input_["stateMachineArn"],
        "name": "demo",
        "definition": "{}",
        "roleArn": "arn:aws:iam::123456789012:role/r",
        "type": "STANDARD",
        "creationDate": dt.datetime(2024, 5, 6, 7, 8, 9, 123456, tzinfo=dt.UTC),
        "description": None,
    }


async def explode(_input: dict[str, Any], _context: RequestContext) -> dict[str, Any]:
    raise RuntimeError("database password is hunter2")


async def get_role(input_: dict[str, Any], _context: RequestContext) -> dict[str, Any]:
    if input_["RoleName"] == "missing":
        raise ServiceError("NoSuchEntity", "The role with name missing cannot be found.")
    return {
        "Role": {
            "Path": "/",
            "RoleName": input_["RoleName"],
            "RoleId": "AROAEXAMPLEEXAMPLE01",
            "Arn": f"arn:aws:iam::123456789012:role/{input_['RoleName']}",
            "CreateDate": dt.datetime(2024, 1, 2, 3, 4, 5, tzinfo=dt.UTC),
            "AssumeRolePolicyDocument": "%7B%7D",
            "Description": "a <b> & 'c'",
            "MaxSessionDuration": 3600,
            "Tags": [{"Key": "team", "Value": "x"}, {"Key": "env", "Value": "dev"}],
        }
    }


async def list_roles(input_: dict[str, Any], _context: RequestContext) -> dict[str, Any]:
    return {"Roles": [], "IsTruncated": False, "Marker": input_.get("Marker")}


async def create_role(input_: dict[str, Any], _context: RequestContext) -> dict[str, Any]:
    role = {
        "Path": "/",
        "RoleName": input_["RoleName"],
        "RoleId": "AROAEXAMPLEEXAMPLE01",
        "Arn": "arn:aws:iam::123456789012:role/x",
        "CreateDate": dt.datetime(2024, 1, 2, tzinfo=dt.UTC),
        "Tags": input_.get("Tags", []),
        "MaxSessionDuration": input_.get("MaxSessionDuration", 3600),
    }
    return {"Role": role}


async def delete_role(_input: dict[str, Any], _context: RequestContext) -> None:
    return None


APP = create_app(
    {
        "states:DescribeStateMachine": describe,
        "states:ListStateMachines": explode,
        "iam:GetRole": get_role,
        "iam:ListRoles": list_roles,
        "iam:CreateRole": create_role,
        "iam:DeleteRole": delete_role,
        "iam:ListPolicies": explode,
    },
    unsupported_hints={"states:SendTaskSuccess": "Task tokens come with a later release."},
)


def iam_call(params: dict[str, str], **kwargs: Any) -> Any:
    body = urlencode({"Version": "2010-05-08", **params}).encode()
    return call(
        APP,
        headers={"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"},
        body=body,
        **kwargs,
    )


def test_json_success_timestamps_and_request_id() -> None:
    reply = json_call(
        APP, "AWSStepFunctions.DescribeStateMachine", orjson.dumps({"stateMachineArn": ARN})
    )
    assert reply.status == 200
    assert reply.headers["content-type"] == "application/x-amz-json-1.0"
    assert orjson.loads(reply.body)["creationDate"] == 1714979289.123
    parsed = parse("states", "DescribeStateMachine", reply)
    assert parsed["creationDate"].astimezone(dt.UTC) == dt.datetime(
        2024, 5, 6, 7, 8, 9, 123000, tzinfo=dt.UTC
    )
    assert "description" not in parsed
    assert parsed["ResponseMetadata"]["RequestId"] == reply.headers["x-amzn-requestid"]


def test_service_error_json() -> None:
    reply = json_call(
        APP,
        "AWSStepFunctions.DescribeStateMachine",
        orjson.dumps({"stateMachineArn": ARN[:-4] + "missing"}),
    )
    assert reply.status == 400
    body = orjson.loads(reply.body)
    assert body["__type"] == "com.amazonaws.swf.service.v2.model#StateMachineDoesNotExist"
    error = parse("states", "DescribeStateMachine", reply)["Error"]
    assert error == {
        "Code": "StateMachineDoesNotExist",
        "Message": f"State Machine Does Not Exist: '{ARN[:-4]}missing'",
    }


def test_host_and_region_reach_the_handler() -> None:
    SEEN.clear()
    json_call(
        APP,
        "AWSStepFunctions.DescribeStateMachine",
        orjson.dumps({"stateMachineArn": ARN}),
        Host="sync-localhost:8083",
        Authorization="AWS4-HMAC-SHA256 Credential=AKID/20240101/eu-west-3/states/aws4_request, "
        "SignedHeaders=host, Signature=00",
    )
    (context,) = SEEN
    assert context.sync_host
    assert context.region == "eu-west-3"
    assert context.access_key_id is None
    assert context.operation == "states:DescribeStateMachine"


@pytest.mark.parametrize(
    "target", ["AWSStepFunctions.Nope", "DynamoDB_20120810.GetItem", "AWSStepFunctions"]
)
def test_unknown_target(target: str) -> None:
    reply = json_call(APP, target, b"{}")
    assert reply.status == 400
    body = orjson.loads(reply.body)
    assert body["__type"] == "com.amazon.coral.service#UnknownOperationException"
    assert target in body["message"]


def test_malformed_json() -> None:
    reply = json_call(APP, "AWSStepFunctions.DescribeStateMachine", b'{"stateMachineArn": ')
    body = orjson.loads(reply.body)
    assert reply.status == 400
    assert body["__type"] == "com.amazon.coral.service#SerializationException"
    assert "not valid JSON" in body["message"]


def test_empty_body_means_empty_input() -> None:
    reply = json_call(APP, "AWSStepFunctions.DescribeStateMachine", b"")
    assert "Value null at 'stateMachineArn'" in orjson.loads(reply.body)["message"]


def test_unsupported_operation_names_it() -> None:
    reply = json_call(
        APP, "AWSStepFunctions.SendTaskSuccess", b'{"taskToken": "t", "output": "{}"}'
    )
    error = parse("states", "SendTaskSuccess", reply)["Error"]
    assert reply.status == 400
    assert error["Code"] == "UnsupportedOperation"
    assert "SendTaskSuccess" in error["Message"]
    assert "Task tokens come with a later release." in error["Message"]
    events_reply = json_call(APP, "AWSEvents.PutRule", b'{"Name": "r"}')
    assert orjson.loads(events_reply.body)["__type"] == "UnsupportedOperation"
    assert events_reply.headers["content-type"] == "application/x-amz-json-1.1"


def test_unexpected_exception_is_500_without_details(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.ERROR, logger="stepline.api"):
        reply = json_call(APP, "AWSStepFunctions.ListStateMachines", b"{}")
    assert reply.status == 500
    body = orjson.loads(reply.body)
    assert body["__type"] == "com.amazon.coral.service#InternalFailure"
    assert "hunter2" not in reply.body.decode()
    assert "Traceback" not in reply.body.decode()
    assert reply.headers["x-amzn-requestid"] in body["message"]
    assert any(reply.headers["x-amzn-requestid"] in r.getMessage() for r in caplog.records)


def test_too_large_request() -> None:
    small = create_app({}, max_request_bytes=100)
    reply = call(
        small,
        headers={"X-Amz-Target": "AWSStepFunctions.ListStateMachines"},
        body=b"{" + b" " * 200 + b"}",
        chunk=30,
    )
    assert reply.status == 413
    assert orjson.loads(reply.body)["__type"].endswith("#RequestEntityTooLargeException")
    declared = call(
        small,
        headers={"X-Amz-Target": "AWSStepFunctions.ListStateMachines", "Content-Length": "5000"},
        body=b"{}",
    )
    assert declared.status == 413


def test_health() -> None:
    reply = call(APP, method="GET", path="/-/health")
    assert (reply.status, orjson.loads(reply.body)) == (200, {"status": "ok"})


def test_iam_xml_success_with_lists_and_escaping() -> None:
    reply = iam_call({"Action": "GetRole", "RoleName": "worker"})
    assert reply.status == 200
    assert reply.headers["content-type"] == "text/xml"
    text = reply.body.decode()
    assert text.startswith('<GetRoleResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/">')
    assert "<GetRoleResult><Role>" in text
    assert "<Tags><member><Key>team</Key>" in text
    assert "<CreateDate>2024-01-02T03:04:05Z</CreateDate>" in text
    role = parse("iam", "GetRole", reply)["Role"]
    assert role["Description"] == "a <b> & 'c'"
    assert role["Tags"] == [{"Key": "team", "Value": "x"}, {"Key": "env", "Value": "dev"}]
    assert role["MaxSessionDuration"] == 3600
    assert role["CreateDate"].astimezone(dt.UTC) == dt.datetime(2024, 1, 2, 3, 4, 5, tzinfo=dt.UTC)


def test_iam_query_input_lists_and_numbers() -> None:
    reply = iam_call(
        {
            "Action": "CreateRole",
            "RoleName": "worker",
            "AssumeRolePolicyDocument": "{}",
            "MaxSessionDuration": "7200",
            "Tags.member.2.Key": "b",
            "Tags.member.2.Value": "2",
            "Tags.member.1.Key": "a",
            "Tags.member.1.Value": "1",
        }
    )
    role = parse("iam", "CreateRole", reply)["Role"]
    assert role["Tags"] == [{"Key": "a", "Value": "1"}, {"Key": "b", "Value": "2"}]
    assert role["MaxSessionDuration"] == 7200


def test_iam_no_output_and_get_form() -> None:
    reply = iam_call({"Action": "DeleteRole", "RoleName": "worker"})
    assert reply.status == 200
    assert b"<DeleteRoleResponse" in reply.body
    assert parse("iam", "DeleteRole", reply)["ResponseMetadata"]["RequestId"]
    query = urlencode({"Action": "ListRoles", "Version": "2010-05-08", "Marker": "m1"})
    got = call(APP, method="GET", query_string=query.encode())
    assert parse("iam", "ListRoles", got)["Marker"] == "m1"


def test_iam_errors() -> None:
    missing = iam_call({"Action": "GetRole", "RoleName": "missing"})
    assert missing.status == 404  # from the model's NoSuchEntity error shape
    parsed = parse("iam", "GetRole", missing)
    assert parsed["Error"] == {
        "Type": "Sender",
        "Code": "NoSuchEntity",
        "Message": "The role with name missing cannot be found.",
    }
    assert parsed["ResponseMetadata"]["RequestId"] == missing.headers["x-amzn-requestid"]
    invalid = iam_call({"Action": "GetRole", "RoleName": "a b"})
    assert parse("iam", "GetRole", invalid)["Error"]["Code"] == "ValidationError"
    bad_number = iam_call({"Action": "ListRoles", "MaxItems": "ten"})
    error = parse("iam", "ListRoles", bad_number)["Error"]
    assert (error["Code"], bad_number.status) == ("ValidationError", 400)
    assert "'maxItems'" in error["Message"]
    unknown = iam_call({"Action": "LaunchRocket"})
    assert parse("iam", "GetRole", unknown)["Error"]["Code"] == "InvalidAction"
    no_action = iam_call({})
    assert parse("iam", "GetRole", no_action)["Error"]["Code"] == "MissingAction"
    crash = iam_call({"Action": "ListPolicies"})
    crash_error = parse("iam", "ListPolicies", crash)["Error"]
    assert (crash.status, crash_error["Code"], crash_error["Type"]) == (
        500,
        "ServiceFailure",
        "Receiver",
    )
    assert b"hunter2" not in crash.body


def test_handler_keys_are_checked() -> None:
    with pytest.raises(ValueError, match="'states:StartExecutions' names no operation"):
        create_app({"states:StartExecutions": describe})
    with pytest.raises(ValueError, match="names no operation"):
        create_app({"lambda:Invoke": describe})


def test_lifespan_runs_the_context_manager() -> None:
    import asyncio
    import contextlib

    events: list[str] = []

    @contextlib.asynccontextmanager
    async def lifespan() -> Any:
        events.append("start")
        yield
        events.append("stop")

    app = create_app({}, lifespan=lifespan)
    inbox = [{"type": "lifespan.startup"}, {"type": "lifespan.shutdown"}]
    sent: list[str] = []

    async def receive() -> dict[str, Any]:
        return inbox.pop(0)

    async def send(message: dict[str, Any]) -> None:
        sent.append(message["type"])

    asyncio.run(app({"type": "lifespan"}, receive, send))
    assert events == ["start", "stop"]
    assert sent == ["lifespan.startup.complete", "lifespan.shutdown.complete"]
