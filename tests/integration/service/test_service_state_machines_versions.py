"""Versions, aliases and tags through real boto3 against the real service (memory and SQLite)."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
from _service_kit import ROLE_ARN, ServiceServer, unique
from botocore.exceptions import ClientError

PASS = json.dumps({"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}})


def definition(result: str) -> str:
    return json.dumps(
        {"StartAt": "P", "States": {"P": {"Type": "Pass", "Result": result, "End": True}}}
    )


def error_of(call: Any, **kwargs: Any) -> tuple[str, str, dict[str, Any]]:
    with pytest.raises(ClientError) as info:
        call(**kwargs)
    response = info.value.response
    return response["Error"]["Code"], response["Error"]["Message"], response


def machine_with_versions(server: ServiceServer, count: int) -> tuple[str, list[str]]:
    sfn = server.sfn
    arn = sfn.create_state_machine(name=unique(), definition=definition("0"), roleArn=ROLE_ARN)[
        "stateMachineArn"
    ]
    versions = []
    for index in range(count):
        sfn.update_state_machine(stateMachineArn=arn, definition=definition(str(index + 1)))
        versions.append(
            sfn.publish_state_machine_version(stateMachineArn=arn)["stateMachineVersionArn"]
        )
    return arn, versions


def test_publish_is_idempotent_per_revision(service: ServiceServer) -> None:
    sfn = service.sfn
    arn = sfn.create_state_machine(name=unique(), definition=PASS, roleArn=ROLE_ARN)[
        "stateMachineArn"
    ]
    first = sfn.publish_state_machine_version(stateMachineArn=arn, description="one")
    assert first["stateMachineVersionArn"] == arn + ":1"
    assert isinstance(first["creationDate"], dt.datetime)
    again = sfn.publish_state_machine_version(stateMachineArn=arn)
    assert again["stateMachineVersionArn"] == arn + ":1"
    assert again["creationDate"] == first["creationDate"]
    revision = sfn.describe_state_machine(stateMachineArn=arn)["revisionId"]
    assert (
        sfn.publish_state_machine_version(stateMachineArn=arn, revisionId=revision)[
            "stateMachineVersionArn"
        ]
        == arn + ":1"
    )
    sfn.update_state_machine(stateMachineArn=arn, definition=definition("x"))
    code, message, response = error_of(
        sfn.publish_state_machine_version, stateMachineArn=arn, revisionId=revision
    )
    assert code == "ConflictException"
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 409
    assert revision in message
    second = sfn.publish_state_machine_version(stateMachineArn=arn)
    assert second["stateMachineVersionArn"] == arn + ":2"
    described = sfn.describe_state_machine(stateMachineArn=arn + ":1")
    assert described["definition"] == PASS
    assert described["description"] == "one"
    missing = arn + "-missing"
    assert error_of(sfn.publish_state_machine_version, stateMachineArn=missing)[0] == (
        "StateMachineDoesNotExist"
    )
    assert error_of(sfn.publish_state_machine_version, stateMachineArn=arn + ":1")[0] == (
        "ValidationException"
    )
    assert error_of(sfn.publish_state_machine_version, stateMachineArn="bad")[0] == "InvalidArn"


def test_list_and_delete_versions(service: ServiceServer) -> None:
    sfn = service.sfn
    arn, versions = machine_with_versions(service, 3)
    listed: list[str] = []
    token = None
    for _ in range(10):
        page = sfn.list_state_machine_versions(
            stateMachineArn=arn, maxResults=2, **({"nextToken": token} if token else {})
        )
        listed += [v["stateMachineVersionArn"] for v in page["stateMachineVersions"]]
        assert all(isinstance(v["creationDate"], dt.datetime) for v in page["stateMachineVersions"])
        token = page.get("nextToken")
        if token is None:
            break
    assert listed == list(reversed(versions))  # newest first
    sfn.delete_state_machine_version(stateMachineVersionArn=versions[0])
    sfn.delete_state_machine_version(stateMachineVersionArn=versions[0])  # gone: still fine
    left = sfn.list_state_machine_versions(stateMachineArn=arn)["stateMachineVersions"]
    assert [v["stateMachineVersionArn"] for v in left] == [versions[2], versions[1]]
    # Numbers are never reused.
    sfn.update_state_machine(stateMachineArn=arn, definition=definition("new"))
    assert sfn.publish_state_machine_version(stateMachineArn=arn)["stateMachineVersionArn"] == (
        arn + ":4"
    )
    assert error_of(sfn.delete_state_machine_version, stateMachineVersionArn=arn)[0] == (
        "InvalidArn"
    )
    assert error_of(sfn.list_state_machine_versions, stateMachineArn="nope")[0] == "InvalidArn"
    assert error_of(sfn.list_state_machine_versions, stateMachineArn=arn, nextToken="x")[0] == (
        "InvalidToken"
    )


def test_alias_lifecycle(service: ServiceServer) -> None:
    sfn = service.sfn
    arn, (v1, v2) = machine_with_versions(service, 2)
    routing = [
        {"stateMachineVersionArn": v1, "weight": 70},
        {"stateMachineVersionArn": v2, "weight": 30},
    ]
    created = sfn.create_state_machine_alias(
        name="prod", description="live", routingConfiguration=routing
    )
    alias_arn = created["stateMachineAliasArn"]
    assert alias_arn == arn + ":prod"
    assert isinstance(created["creationDate"], dt.datetime)
    # Idempotent with the same content; a conflict with another.
    again = sfn.create_state_machine_alias(
        name="prod", description="live", routingConfiguration=routing
    )
    assert (again["stateMachineAliasArn"], again["creationDate"]) == (
        alias_arn,
        created["creationDate"],
    )
    code, _, response = error_of(
        sfn.create_state_machine_alias,
        name="prod",
        routingConfiguration=[{"stateMachineVersionArn": v1, "weight": 100}],
    )
    assert (code, response["ResponseMetadata"]["HTTPStatusCode"]) == ("ConflictException", 409)
    described = sfn.describe_state_machine_alias(stateMachineAliasArn=alias_arn)
    assert described["name"] == "prod"
    assert described["description"] == "live"
    assert described["routingConfiguration"] == routing
    assert described["creationDate"] == described["updateDate"] == created["creationDate"]
    # A version an alias routes to cannot be deleted.
    code, message, _ = error_of(sfn.delete_state_machine_version, stateMachineVersionArn=v1)
    assert code == "ConflictException"
    assert alias_arn in message
    updated = sfn.update_state_machine_alias(
        stateMachineAliasArn=alias_arn,
        routingConfiguration=[{"stateMachineVersionArn": v2, "weight": 100}],
    )
    assert updated["updateDate"] >= created["creationDate"]
    described = sfn.describe_state_machine_alias(stateMachineAliasArn=alias_arn)
    assert described["routingConfiguration"] == [{"stateMachineVersionArn": v2, "weight": 100}]
    assert described["description"] == "live"
    sfn.delete_state_machine_version(stateMachineVersionArn=v1)
    sfn.create_state_machine_alias(
        name="beta", routingConfiguration=[{"stateMachineVersionArn": v2, "weight": 100}]
    )
    listed = sfn.list_state_machine_aliases(stateMachineArn=arn)["stateMachineAliases"]
    assert [a["stateMachineAliasArn"] for a in listed] == [arn + ":beta", alias_arn]
    page = sfn.list_state_machine_aliases(stateMachineArn=arn, maxResults=1)
    assert len(page["stateMachineAliases"]) == 1 and page["nextToken"]
    by_version = sfn.list_state_machine_aliases(stateMachineArn=v2)["stateMachineAliases"]
    assert len(by_version) == 2
    sfn.delete_state_machine_alias(stateMachineAliasArn=alias_arn)
    code, _, response = error_of(sfn.describe_state_machine_alias, stateMachineAliasArn=alias_arn)
    assert code == "ResourceNotFound"
    assert response["Error"].get("Code") == "ResourceNotFound"
    assert error_of(sfn.delete_state_machine_alias, stateMachineAliasArn=alias_arn)[0] == (
        "ResourceNotFound"
    )
    assert (
        error_of(sfn.update_state_machine_alias, stateMachineAliasArn=alias_arn, description="x")[0]
        == "ResourceNotFound"
    )


def test_alias_refusals(service: ServiceServer) -> None:
    sfn = service.sfn
    arn, (v1, v2) = machine_with_versions(service, 2)
    _other, (w1,) = machine_with_versions(service, 1)

    def refused(routing: list[dict[str, Any]], name: str = "a") -> tuple[str, dict[str, Any]]:
        code, _, response = error_of(
            sfn.create_state_machine_alias, name=name, routingConfiguration=routing
        )
        return code, response

    code, response = refused(
        [{"stateMachineVersionArn": v1, "weight": 50}, {"stateMachineVersionArn": v2, "weight": 40}]
    )
    assert code == "ValidationException"
    assert response["Error"].get("reason", "INVALID_ROUTING_CONFIGURATION") == (
        "INVALID_ROUTING_CONFIGURATION"
    )
    assert (
        refused(
            [
                {"stateMachineVersionArn": v1, "weight": 50},
                {"stateMachineVersionArn": w1, "weight": 50},
            ]
        )[0]
        == "ValidationException"
    )
    assert (
        refused(
            [
                {"stateMachineVersionArn": v1, "weight": 50},
                {"stateMachineVersionArn": v1, "weight": 50},
            ]
        )[0]
        == "ValidationException"
    )
    assert refused([{"stateMachineVersionArn": arn, "weight": 100}])[0] == "ValidationException"
    assert (
        refused([{"stateMachineVersionArn": arn + ":99", "weight": 100}])[0] == "ResourceNotFound"
    )
    assert refused([{"stateMachineVersionArn": "bad", "weight": 100}])[0] == "InvalidArn"
    assert refused([{"stateMachineVersionArn": v1, "weight": 100}], name="123")[0] in (
        "InvalidName",
        "ValidationException",
    )
    alias = sfn.create_state_machine_alias(
        name="ok", routingConfiguration=[{"stateMachineVersionArn": v1, "weight": 100}]
    )["stateMachineAliasArn"]
    code, _, _ = error_of(
        sfn.update_state_machine_alias,
        stateMachineAliasArn=alias,
        routingConfiguration=[{"stateMachineVersionArn": w1, "weight": 100}],
    )
    assert code == "ValidationException"
    assert error_of(sfn.update_state_machine_alias, stateMachineAliasArn=alias)[0] == (
        "ValidationException"
    )
    assert error_of(sfn.describe_state_machine_alias, stateMachineAliasArn=arn)[0] == "InvalidArn"
    missing = arn.replace(arn.rsplit(":", 1)[1], unique())
    assert error_of(sfn.list_state_machine_aliases, stateMachineArn=missing)[0] == (
        "StateMachineDoesNotExist"
    )
    assert error_of(sfn.list_state_machine_aliases, stateMachineArn=arn + ":42")[0] == (
        "ResourceNotFound"
    )
    assert error_of(sfn.describe_state_machine, stateMachineArn=alias)[0] == "ValidationException"


def test_tags(service: ServiceServer) -> None:
    sfn = service.sfn
    arn = sfn.create_state_machine(
        name=unique(), definition=PASS, roleArn=ROLE_ARN, tags=[{"key": "a", "value": "1"}]
    )["stateMachineArn"]
    sfn.tag_resource(resourceArn=arn, tags=[{"key": "b", "value": "2"}, {"key": "a", "value": "3"}])
    assert sfn.list_tags_for_resource(resourceArn=arn)["tags"] == [
        {"key": "a", "value": "3"},
        {"key": "b", "value": "2"},
    ]
    sfn.untag_resource(resourceArn=arn, tagKeys=["a", "absent"])
    assert sfn.list_tags_for_resource(resourceArn=arn)["tags"] == [{"key": "b", "value": "2"}]
    many = [{"key": f"k{i}", "value": ""} for i in range(49)]
    sfn.tag_resource(resourceArn=arn, tags=many)  # 50 in all: allowed
    code, _, response = error_of(
        sfn.tag_resource, resourceArn=arn, tags=[{"key": "one-more", "value": ""}]
    )
    assert code == "TooManyTags"
    missing = arn + "-missing"
    for call, extra in (
        (sfn.tag_resource, {"tags": [{"key": "x", "value": "y"}]}),
        (sfn.untag_resource, {"tagKeys": ["x"]}),
        (sfn.list_tags_for_resource, {}),
    ):
        code, _, response = error_of(call, resourceArn=missing, **extra)
        assert code == "ResourceNotFound"
        assert response["Error"].get("Code") == "ResourceNotFound"
        assert (
            error_of(
                call, resourceArn="arn:aws:states:us-east-1:123456789012:execution:a:b", **extra
            )[0]
            == "InvalidArn"
        )
        assert error_of(call, resourceArn="garbage", **extra)[0] == "InvalidArn"
    activity = "arn:aws:states:us-east-1:123456789012:activity:" + unique()
    assert error_of(sfn.list_tags_for_resource, resourceArn=activity)[0] == "ResourceNotFound"
