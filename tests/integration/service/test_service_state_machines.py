"""State machine operations through real boto3 against the real service (memory and SQLite).

Create (idempotency, every refusal), describe (versions too), update, delete, list with
pagination, and ValidateStateMachineDefinition.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
from _service_kit import ROLE_ARN, ServiceServer, unique
from botocore.exceptions import ClientError

PASS = json.dumps({"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}})
PASS2 = json.dumps({"StartAt": "Q", "States": {"Q": {"Type": "Pass", "End": True}}})
LOG_GROUP = "arn:aws:logs:us-east-1:123456789012:log-group:flows:*"


def error_of(call: Any, **kwargs: Any) -> tuple[str, str, dict[str, Any]]:
    with pytest.raises(ClientError) as info:
        call(**kwargs)
    response = info.value.response
    return response["Error"]["Code"], response["Error"]["Message"], response


def create(server: ServiceServer, **overrides: Any) -> dict[str, Any]:
    request: dict[str, Any] = {"name": unique(), "definition": PASS, "roleArn": ROLE_ARN}
    request.update(overrides)
    result: dict[str, Any] = server.sfn.create_state_machine(**request)
    return result


def test_create_and_describe(service: ServiceServer) -> None:
    name = unique()
    created = create(service, name=name, tags=[{"key": "team", "value": "flows"}])
    assert (
        created["stateMachineArn"] == f"arn:aws:states:us-east-1:123456789012:stateMachine:{name}"
    )
    assert isinstance(created["creationDate"], dt.datetime)
    assert "stateMachineVersionArn" not in created
    described = service.sfn.describe_state_machine(stateMachineArn=created["stateMachineArn"])
    assert described["name"] == name
    assert described["status"] == "ACTIVE"
    assert described["definition"] == PASS
    assert described["roleArn"] == ROLE_ARN
    assert described["type"] == "STANDARD"
    assert described["creationDate"] == created["creationDate"]
    assert described["loggingConfiguration"] == {"level": "OFF", "includeExecutionData": False}
    assert described["tracingConfiguration"] == {"enabled": False}
    assert described["encryptionConfiguration"] == {"type": "AWS_OWNED_KEY"}
    assert described["revisionId"]
    tags = service.sfn.list_tags_for_resource(resourceArn=created["stateMachineArn"])["tags"]
    assert tags == [{"key": "team", "value": "flows"}]


def test_create_with_configurations_and_publish(service: ServiceServer) -> None:
    logging = {
        "level": "ERROR",
        "includeExecutionData": True,
        "destinations": [{"cloudWatchLogsLogGroup": {"logGroupArn": LOG_GROUP}}],
    }
    created = create(
        service,
        type="EXPRESS",
        loggingConfiguration=logging,
        tracingConfiguration={"enabled": True},
        encryptionConfiguration={"type": "CUSTOMER_MANAGED_KMS_KEY", "kmsKeyId": "alias/flows"},
        publish=True,
        versionDescription="first",
    )
    assert created["stateMachineVersionArn"] == created["stateMachineArn"] + ":1"
    described = service.sfn.describe_state_machine(stateMachineArn=created["stateMachineArn"])
    assert described["type"] == "EXPRESS"
    assert described["loggingConfiguration"] == logging
    assert described["tracingConfiguration"] == {"enabled": True}
    assert described["encryptionConfiguration"] == {
        "type": "CUSTOMER_MANAGED_KMS_KEY",
        "kmsKeyId": "alias/flows",
        "kmsDataKeyReusePeriodSeconds": 300,
    }
    metadata = service.sfn.describe_state_machine(
        stateMachineArn=created["stateMachineArn"], includedData="METADATA_ONLY"
    )
    assert "definition" not in metadata
    version = service.sfn.describe_state_machine(stateMachineArn=created["stateMachineVersionArn"])
    assert version["stateMachineArn"] == created["stateMachineVersionArn"]
    assert version["description"] == "first"
    assert version["revisionId"] == described["revisionId"]


def test_create_is_idempotent(service: ServiceServer) -> None:
    name = unique()
    first = create(service, name=name)
    other_role = "arn:aws:iam::123456789012:role/other"
    again = create(service, name=name, roleArn=other_role, tags=[{"key": "k", "value": "v"}])
    assert again["stateMachineArn"] == first["stateMachineArn"]
    assert again["creationDate"] == first["creationDate"]
    # The different role and tags are ignored, not applied.
    described = service.sfn.describe_state_machine(stateMachineArn=first["stateMachineArn"])
    assert described["roleArn"] == ROLE_ARN
    assert service.sfn.list_tags_for_resource(resourceArn=first["stateMachineArn"])["tags"] == []
    for different in (
        {"definition": PASS2},
        {"type": "EXPRESS"},
        {"tracingConfiguration": {"enabled": True}},
        {"publish": True},
    ):
        code, message, _ = error_of(
            service.sfn.create_state_machine,
            **{"name": name, "definition": PASS, "roleArn": ROLE_ARN, **different},
        )
        assert code == "StateMachineAlreadyExists", different
        assert first["stateMachineArn"] in message


def test_create_published_is_idempotent_with_its_version(service: ServiceServer) -> None:
    name = unique()
    first = create(service, name=name, publish=True, versionDescription="d")
    again = create(service, name=name, publish=True, versionDescription="d")
    assert again == {k: first[k] for k in again if k != "ResponseMetadata"} | {
        "ResponseMetadata": again["ResponseMetadata"]
    }
    code, _, _ = error_of(
        service.sfn.create_state_machine,
        name=name,
        definition=PASS,
        roleArn=ROLE_ARN,
        publish=True,
        versionDescription="other",
    )
    assert code == "StateMachineAlreadyExists"


def test_create_refusals(service: ServiceServer) -> None:
    sfn = service.sfn
    base = {"definition": PASS, "roleArn": ROLE_ARN}
    code, message, response = error_of(sfn.create_state_machine, name="has space", **base)
    assert (code, response["ResponseMetadata"]["HTTPStatusCode"]) == ("InvalidName", 400)
    assert message.startswith("Invalid Name: 'has space'")
    for bad in ("a:b", "a/b", "a*b", "a\x01b", "x" * 81):
        assert error_of(sfn.create_state_machine, name=bad, **base)[0] in (
            "InvalidName",
            "ValidationException",
        )
    code, message, _ = error_of(
        sfn.create_state_machine, name=unique(), definition=PASS, roleArn="not-an-arn"
    )
    assert code == "InvalidArn"
    assert message.startswith("Invalid Arn: ")
    code, _, _ = error_of(
        sfn.create_state_machine,
        name=unique(),
        definition=PASS,
        roleArn="arn:aws:iam::123456789012:user/bob",
    )
    assert code == "InvalidArn"
    code, _, _ = error_of(sfn.create_state_machine, name=unique(), versionDescription="x", **base)
    assert code == "ValidationException"
    code, _, _ = error_of(
        sfn.create_state_machine,
        name=unique(),
        tags=[{"key": f"k{i}", "value": "v"} for i in range(51)],
        **base,
    )
    assert code == "TooManyTags"


def test_invalid_definition_message(service: ServiceServer) -> None:
    bad = json.dumps({"StartAt": "A", "States": {"A": {"Type": "Pass", "Next": "B"}}})
    code, message, _ = error_of(
        service.sfn.create_state_machine, name=unique(), definition=bad, roleArn=ROLE_ARN
    )
    assert code == "InvalidDefinition"
    assert message.startswith("Invalid State Machine Definition: '")
    assert "at /States/A/Next" in message
    code, message, _ = error_of(
        service.sfn.create_state_machine, name=unique(), definition="{not json", roleArn=ROLE_ARN
    )
    assert code == "InvalidDefinition"


def test_express_restrictions(service: ServiceServer) -> None:
    sync = json.dumps(
        {
            "StartAt": "T",
            "States": {
                "T": {
                    "Type": "Task",
                    "Resource": "arn:aws:states:::states:startExecution.sync:2",
                    "Parameters": {"StateMachineArn": "arn:aws:states:us-east-1:1:stateMachine:x"},
                    "End": True,
                }
            },
        }
    )
    create(service, definition=sync)  # fine for STANDARD
    code, message, _ = error_of(
        service.sfn.create_state_machine,
        name=unique(),
        definition=sync,
        roleArn=ROLE_ARN,
        type="EXPRESS",
    )
    assert code == "InvalidDefinition"
    assert "/States/T/Resource" in message


def test_logging_and_encryption_refusals(service: ServiceServer) -> None:
    code, message, _ = error_of(
        service.sfn.create_state_machine,
        name=unique(),
        definition=PASS,
        roleArn=ROLE_ARN,
        loggingConfiguration={"level": "ALL"},
    )
    assert code == "InvalidLoggingConfiguration"
    assert message.startswith("Invalid Logging Configuration: ")
    code, _, _ = error_of(
        service.sfn.create_state_machine,
        name=unique(),
        definition=PASS,
        roleArn=ROLE_ARN,
        loggingConfiguration={
            "level": "ALL",
            "destinations": [{"cloudWatchLogsLogGroup": {"logGroupArn": "arn:aws:logs:x"}}],
        },
    )
    assert code == "InvalidLoggingConfiguration"
    code, _, _ = error_of(
        service.sfn.create_state_machine,
        name=unique(),
        definition=PASS,
        roleArn=ROLE_ARN,
        encryptionConfiguration={"type": "CUSTOMER_MANAGED_KMS_KEY"},
    )
    assert code == "InvalidEncryptionConfiguration"
    code, _, _ = error_of(
        service.sfn.create_state_machine,
        name=unique(),
        definition=PASS,
        roleArn=ROLE_ARN,
        encryptionConfiguration={"type": "AWS_OWNED_KEY", "kmsKeyId": "k"},
    )
    assert code == "InvalidEncryptionConfiguration"


def test_describe_refusals(service: ServiceServer) -> None:
    sfn = service.sfn
    missing = "arn:aws:states:us-east-1:123456789012:stateMachine:" + unique()
    code, message, response = error_of(sfn.describe_state_machine, stateMachineArn=missing)
    assert code == "StateMachineDoesNotExist"
    assert message.startswith(f"State Machine Does Not Exist: '{missing}'")
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 400
    code, message, _ = error_of(sfn.describe_state_machine, stateMachineArn="nonsense")
    assert (code, message.split(".")[0]) == (
        "InvalidArn",
        "Invalid Arn: 'Invalid ARN prefix: nonsense'",
    )
    execution = "arn:aws:states:us-east-1:123456789012:execution:m:e"
    code, message, _ = error_of(sfn.describe_state_machine, stateMachineArn=execution)
    assert code == "InvalidArn"
    assert "Resource type not valid in this context: execution" in message
    arn = create(service)["stateMachineArn"]
    assert error_of(sfn.describe_state_machine, stateMachineArn=arn + ":7")[0] == (
        "StateMachineDoesNotExist"
    )
    code, _, response = error_of(sfn.describe_state_machine, stateMachineArn=arn + "/label")
    assert code == "ValidationException"
    assert response["Error"].get("Code") == "ValidationException"


def test_update(service: ServiceServer) -> None:
    sfn = service.sfn
    created = create(service)
    arn = created["stateMachineArn"]
    before = sfn.describe_state_machine(stateMachineArn=arn)
    updated = sfn.update_state_machine(stateMachineArn=arn, definition=PASS2)
    assert isinstance(updated["updateDate"], dt.datetime)
    assert updated["revisionId"] != before["revisionId"]
    assert "stateMachineVersionArn" not in updated
    after = sfn.describe_state_machine(stateMachineArn=arn)
    assert after["definition"] == PASS2
    assert after["revisionId"] == updated["revisionId"]
    assert after["creationDate"] == before["creationDate"]
    # Only the logging configuration: the definition stays.
    logging = {
        "level": "FATAL",
        "includeExecutionData": False,
        "destinations": [{"cloudWatchLogsLogGroup": {"logGroupArn": LOG_GROUP}}],
    }
    sfn.update_state_machine(stateMachineArn=arn, loggingConfiguration=logging)
    after = sfn.describe_state_machine(stateMachineArn=arn)
    assert (after["definition"], after["loggingConfiguration"]) == (PASS2, logging)
    published = sfn.update_state_machine(
        stateMachineArn=arn,
        roleArn="arn:aws:iam::123456789012:role/next",
        publish=True,
        versionDescription="v1",
    )
    assert published["stateMachineVersionArn"] == arn + ":1"
    # The same content again changes nothing and publishes nothing new.
    same = sfn.update_state_machine(
        stateMachineArn=arn, roleArn="arn:aws:iam::123456789012:role/next", publish=True
    )
    assert same["revisionId"] == published["revisionId"]
    assert same["stateMachineVersionArn"] == arn + ":1"


def test_update_refusals(service: ServiceServer) -> None:
    sfn = service.sfn
    arn = create(service)["stateMachineArn"]
    assert error_of(sfn.update_state_machine, stateMachineArn=arn)[0] == (
        "MissingRequiredParameter"
    )
    code, _, _ = error_of(
        sfn.update_state_machine, stateMachineArn=arn, definition=PASS2, versionDescription="x"
    )
    assert code == "ValidationException"
    assert error_of(sfn.update_state_machine, stateMachineArn=arn, definition="{}")[0] == (
        "InvalidDefinition"
    )
    assert error_of(sfn.update_state_machine, stateMachineArn=arn, roleArn="role")[0] == (
        "InvalidArn"
    )
    assert error_of(sfn.update_state_machine, stateMachineArn=arn + ":1", definition=PASS)[0] == (
        "ValidationException"
    )
    missing = arn + "-missing"
    assert error_of(sfn.update_state_machine, stateMachineArn=missing, definition=PASS)[0] == (
        "StateMachineDoesNotExist"
    )


def test_delete(service: ServiceServer) -> None:
    sfn = service.sfn
    created = create(service, publish=True, tags=[{"key": "a", "value": "b"}])
    arn = created["stateMachineArn"]
    sfn.create_state_machine_alias(
        name="live",
        routingConfiguration=[
            {"stateMachineVersionArn": created["stateMachineVersionArn"], "weight": 100}
        ],
    )
    assert error_of(sfn.delete_state_machine, stateMachineArn=arn + ":1")[0] == (
        "ValidationException"
    )
    sfn.delete_state_machine(stateMachineArn=arn)
    assert error_of(sfn.describe_state_machine, stateMachineArn=arn)[0] == (
        "StateMachineDoesNotExist"
    )
    assert error_of(sfn.describe_state_machine_alias, stateMachineAliasArn=arn + ":live")[0] == (
        "ResourceNotFound"
    )
    assert sfn.list_state_machine_versions(stateMachineArn=arn)["stateMachineVersions"] == []
    # Deleting what does not exist succeeds, as on AWS.
    sfn.delete_state_machine(stateMachineArn=arn)
    # The name is free again.
    assert create(service, name=arn.rsplit(":", 1)[1])["stateMachineArn"] == arn


def test_delete_waits_for_running_executions(service: ServiceServer) -> None:
    """A state machine with a running execution stays DELETING until the hook removes it."""
    from stepline.service._sm_common import remove_if_idle
    from stepline.store import ExecutionRecord

    sfn = service.sfn
    created = create(service)
    arn = created["stateMachineArn"]
    described = sfn.describe_state_machine(stateMachineArn=arn)
    execution = ExecutionRecord(
        arn=arn.replace(":stateMachine:", ":execution:") + ":run",
        state_machine_arn=arn,
        name="run",
        revision_id=described["revisionId"],
        status="RUNNING",
        start_date=1.0,
        input="{}",
    )

    async def start(context: Any) -> Any:
        return await context.store.create_execution(execution, (), runnable_at=None)

    service.call(start)
    sfn.delete_state_machine(stateMachineArn=arn)
    deleting = sfn.describe_state_machine(stateMachineArn=arn)
    assert deleting["status"] == "DELETING"
    code, _, _ = error_of(
        sfn.create_state_machine, name=described["name"], definition=PASS, roleArn=ROLE_ARN
    )
    assert code == "StateMachineDeleting"
    assert error_of(sfn.update_state_machine, stateMachineArn=arn, definition=PASS2)[0] == (
        "StateMachineDeleting"
    )
    assert error_of(sfn.publish_state_machine_version, stateMachineArn=arn)[0] == (
        "StateMachineDeleting"
    )
    assert service.call(lambda context: remove_if_idle(context, arn)) is False

    async def finish(context: Any) -> Any:
        return await context.store.stop_execution(
            execution.arn, stop_date=2.0, error=None, cause=None, events=()
        )

    service.call(finish)
    assert service.call(lambda context: remove_if_idle(context, arn)) is True
    assert error_of(sfn.describe_state_machine, stateMachineArn=arn)[0] == (
        "StateMachineDoesNotExist"
    )


def test_list_with_pagination(service: ServiceServer) -> None:
    sfn = service.sfn
    names = {create(service, name=unique("listed"))["stateMachineArn"] for _ in range(5)}
    seen: list[str] = []
    token: str | None = None
    for _ in range(100):
        page = sfn.list_state_machines(maxResults=2, **({"nextToken": token} if token else {}))
        assert len(page["stateMachines"]) <= 2
        for item in page["stateMachines"]:
            assert isinstance(item["creationDate"], dt.datetime)
            assert item["type"] in ("STANDARD", "EXPRESS")
            seen.append(item["stateMachineArn"])
        token = page.get("nextToken")
        if token is None:
            break
    assert names <= set(seen)
    assert len(seen) == len(set(seen))
    assert seen == sorted(seen)  # name order
    paginated = [
        item["stateMachineArn"]
        for page in sfn.get_paginator("list_state_machines").paginate(
            PaginationConfig={"PageSize": 3}
        )
        for item in page["stateMachines"]
    ]
    assert paginated == seen
    code, _, _ = error_of(sfn.list_state_machines, nextToken="garbage-token")
    assert code == "InvalidToken"


def test_validate_definition(service: ServiceServer) -> None:
    sfn = service.sfn
    ok = sfn.validate_state_machine_definition(definition=PASS)
    assert (ok["result"], ok["diagnostics"], ok["truncated"]) == ("OK", [], False)
    bad = json.dumps(
        {
            "StartAt": "A",
            "States": {
                "A": {"Type": "Pass", "Next": "Missing1"},
                "B": {"Type": "Pass", "Next": "Missing2"},
                "C": {"Type": "Pass", "Next": "Missing3"},
            },
        }
    )
    failed = sfn.validate_state_machine_definition(definition=bad)
    assert failed["result"] == "FAIL"
    assert failed["diagnostics"]
    assert all(d["severity"] == "ERROR" for d in failed["diagnostics"])
    assert all(d["code"] and d["message"] for d in failed["diagnostics"])
    assert any(d.get("location", "").startswith("/States/") for d in failed["diagnostics"])
    one = sfn.validate_state_machine_definition(definition=bad, maxResults=1)
    assert len(one["diagnostics"]) == 1
    assert one["truncated"] is (len(failed["diagnostics"]) > 1)
    with_warnings = sfn.validate_state_machine_definition(definition=bad, severity="WARNING")
    assert len(with_warnings["diagnostics"]) >= len(failed["diagnostics"])
    severities = [d["severity"] for d in with_warnings["diagnostics"]]
    assert severities == sorted(severities, key=lambda s: s != "ERROR")
    sync = json.dumps(
        {
            "StartAt": "T",
            "States": {
                "T": {
                    "Type": "Task",
                    "Resource": "arn:aws:states:::lambda:invoke.waitForTaskToken",
                    "Parameters": {"FunctionName": "f", "Payload": {"token.$": "$$.Task.Token"}},
                    "End": True,
                }
            },
        }
    )
    assert sfn.validate_state_machine_definition(definition=sync)["result"] == "OK"
    express = sfn.validate_state_machine_definition(definition=sync, type="EXPRESS")
    assert express["result"] == "FAIL"
    assert express["diagnostics"][0]["location"] == "/States/T/Resource"
