"""The ``iam`` operations of the real service, through boto3's query-protocol client.

Roles, inline policies, managed policies with versions and attachments round-trip; documents
travel URL-encoded in the XML (as AWS sends them) and reach the caller as objects; errors come
back with IAM's codes and HTTP statuses; everything survives a restart on SQLite, and the
restored roles still grant what they granted.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from _service_kit import ServiceServer, unique
from botocore.exceptions import ClientError

from stepline.service._shared_records import IAM_FILE

TRUST = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Principal": {"Service": "states.amazonaws.com"},
            "Action": "sts:AssumeRole",
        }
    ],
}


def allow(action: str, resource: str = "*") -> dict[str, Any]:
    return {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": action, "Resource": resource}],
    }


def error_of(call: Callable[..., Any], **kwargs: Any) -> tuple[str, int, str]:
    with pytest.raises(ClientError) as caught:
        call(**kwargs)
    response = caught.value.response
    return (
        response["Error"]["Code"],
        response["ResponseMetadata"]["HTTPStatusCode"],
        response["Error"]["Message"],
    )


def test_role_round_trip_with_documents_decoded(service: ServiceServer) -> None:
    iam = service.iam
    raw: list[bytes] = []
    iam.meta.events.register(
        "after-call", lambda http_response, **_: raw.append(http_response.content)
    )
    name = unique("role")
    created = iam.create_role(
        RoleName=name,
        Path="/service-role/",
        AssumeRolePolicyDocument=json.dumps(TRUST),
        Description="runs workflows",
        Tags=[{"Key": "team", "Value": "flows"}],
    )["Role"]
    assert created["Arn"] == f"arn:aws:iam::123456789012:role/service-role/{name}"
    assert created["RoleId"].startswith("AROA")
    assert created["AssumeRolePolicyDocument"] == TRUST  # boto3 decoded it
    # On the wire the document is percent-encoded, as AWS sends it.
    assert quote(json.dumps(TRUST), safe="").encode() in raw[-1]

    got = iam.get_role(RoleName=name)["Role"]
    assert got["Tags"] == [{"Key": "team", "Value": "flows"}]
    assert got["Description"] == "runs workflows"
    assert got["AssumeRolePolicyDocument"] == TRUST
    listed = iam.list_roles(PathPrefix="/service-role/")["Roles"]
    assert name in [role["RoleName"] for role in listed]
    assert all(isinstance(role["AssumeRolePolicyDocument"], dict) for role in listed)

    iam.put_role_policy(
        RoleName=name,
        PolicyName="Invoke",
        PolicyDocument=json.dumps(allow("states:InvokeHTTPEndpoint")),
    )
    assert iam.list_role_policies(RoleName=name)["PolicyNames"] == ["Invoke"]
    inline = iam.get_role_policy(RoleName=name, PolicyName="Invoke")
    assert inline["PolicyDocument"] == allow("states:InvokeHTTPEndpoint")
    assert error_of(iam.delete_role, RoleName=name)[:2] == ("DeleteConflict", 409)
    iam.delete_role_policy(RoleName=name, PolicyName="Invoke")
    iam.delete_role(RoleName=name)
    assert error_of(iam.get_role, RoleName=name)[:2] == ("NoSuchEntity", 404)


def test_managed_policies_versions_and_attachments(service: ServiceServer) -> None:
    iam = service.iam
    role, policy_name = unique("role"), unique("policy")
    iam.create_role(RoleName=role, AssumeRolePolicyDocument=json.dumps(TRUST))
    policy = iam.create_policy(
        PolicyName=policy_name,
        PolicyDocument=json.dumps(allow("events:RetrieveConnectionCredentials")),
        Description="connections",
    )["Policy"]
    arn = policy["Arn"]
    assert arn == f"arn:aws:iam::123456789012:policy/{policy_name}"
    assert policy["DefaultVersionId"] == "v1"

    iam.attach_role_policy(RoleName=role, PolicyArn=arn)
    aws_managed = "arn:aws:iam::aws:policy/AWSStepFunctionsReadOnlyAccess"
    iam.attach_role_policy(RoleName=role, PolicyArn=aws_managed)
    attached = iam.list_attached_role_policies(RoleName=role)["AttachedPolicies"]
    assert {p["PolicyArn"] for p in attached} == {arn, aws_managed}
    assert iam.get_policy(PolicyArn=arn)["Policy"]["AttachmentCount"] == 1
    local = iam.list_policies(Scope="Local", OnlyAttached=True)["Policies"]
    assert arn in [p["Arn"] for p in local]

    second = iam.create_policy_version(
        PolicyArn=arn, PolicyDocument=json.dumps(allow("states:*")), SetAsDefault=True
    )["PolicyVersion"]
    assert second["VersionId"] == "v2" and second["IsDefaultVersion"] is True
    version = iam.get_policy_version(PolicyArn=arn, VersionId="v2")["PolicyVersion"]
    assert version["Document"] == allow("states:*")
    versions = iam.list_policy_versions(PolicyArn=arn)["Versions"]
    assert [v["VersionId"] for v in versions] == ["v2", "v1"]
    iam.set_default_policy_version(PolicyArn=arn, VersionId="v1")
    assert iam.get_policy(PolicyArn=arn)["Policy"]["DefaultVersionId"] == "v1"
    iam.delete_policy_version(PolicyArn=arn, VersionId="v2")

    assert error_of(iam.delete_policy, PolicyArn=arn)[:2] == ("DeleteConflict", 409)
    iam.detach_role_policy(RoleName=role, PolicyArn=arn)
    iam.detach_role_policy(RoleName=role, PolicyArn=aws_managed)
    assert iam.list_attached_role_policies(RoleName=role)["AttachedPolicies"] == []
    iam.delete_policy(PolicyArn=arn)
    iam.delete_role(RoleName=role)
    assert error_of(iam.get_policy, PolicyArn=arn)[:2] == ("NoSuchEntity", 404)


def test_errors_have_iam_codes_and_statuses(service: ServiceServer) -> None:
    iam = service.iam
    role = unique("role")
    iam.create_role(RoleName=role, AssumeRolePolicyDocument=json.dumps(TRUST))
    code, status, message = error_of(
        iam.create_role, RoleName=role.upper(), AssumeRolePolicyDocument=json.dumps(TRUST)
    )
    assert (code, status) == ("EntityAlreadyExists", 409)
    assert "already exists" in message
    code, status, _ = error_of(
        iam.put_role_policy, RoleName=role, PolicyName="p", PolicyDocument='{"Version": 1'
    )
    assert (code, status) == ("MalformedPolicyDocument", 400)
    assert error_of(iam.get_role_policy, RoleName=role, PolicyName="none")[:2] == (
        "NoSuchEntity",
        404,
    )
    assert error_of(iam.get_policy, PolicyArn="arn:aws:iam::123456789012:nope")[:2] == (
        "InvalidInput",
        400,
    )
    code, status, message = error_of(
        iam.create_role,
        RoleName=unique("bounded"),
        AssumeRolePolicyDocument=json.dumps(TRUST),
        PermissionsBoundary="arn:aws:iam::123456789012:policy/boundary",
    )
    assert (code, status) == ("InvalidInput", 400)
    assert "permissions boundaries" in message

    policy_arn = iam.create_policy(
        PolicyName=unique("versions"), PolicyDocument=json.dumps(allow("states:List*"))
    )["Policy"]["Arn"]
    for _ in range(4):
        iam.create_policy_version(PolicyArn=policy_arn, PolicyDocument=json.dumps(allow("s3:*")))
    code, status, _ = error_of(
        iam.create_policy_version, PolicyArn=policy_arn, PolicyDocument=json.dumps(allow("s3:*"))
    )
    assert (code, status) == ("LimitExceeded", 409)
    code, status, _ = error_of(iam.delete_policy_version, PolicyArn=policy_arn, VersionId="v1")
    assert (code, status) == ("DeleteConflict", 409)
    code, status, _ = error_of(
        iam.delete_policy, PolicyArn="arn:aws:iam::aws:policy/AdministratorAccess"
    )
    assert (code, status) == ("AccessDenied", 403)
    iam.delete_role(RoleName=role)


def test_list_roles_pages_with_markers(service: ServiceServer) -> None:
    iam = service.iam
    path = f"/{unique('pages')}/"
    names = sorted(unique("r") for _ in range(5))
    for name in names:
        iam.create_role(RoleName=name, Path=path, AssumeRolePolicyDocument=json.dumps(TRUST))
    seen: list[str] = []
    marker: str | None = None
    for _ in range(10):
        page = iam.list_roles(PathPrefix=path, MaxItems=2, **({"Marker": marker} if marker else {}))
        seen.extend(role["RoleName"] for role in page["Roles"])
        if not page["IsTruncated"]:
            break
        marker = page["Marker"]
    assert seen == sorted(names, key=str.lower)
    for name in names:
        iam.delete_role(RoleName=name)


def test_roles_and_policies_survive_a_restart(
    serve_service: Callable[..., ServiceServer], tmp_path: Path
) -> None:
    first = serve_service("sqlite", directory=tmp_path)
    iam = first.iam
    role = iam.create_role(
        RoleName="Worker",
        Path="/service-role/",
        AssumeRolePolicyDocument=json.dumps(TRUST),
        Tags=[{"Key": "env", "Value": "test"}],
    )["Role"]
    iam.put_role_policy(
        RoleName="Worker",
        PolicyName="Http",
        PolicyDocument=json.dumps(allow("states:InvokeHTTPEndpoint")),
    )
    policy = iam.create_policy(
        PolicyName="Connections", PolicyDocument=json.dumps(allow("events:*"))
    )["Policy"]
    iam.create_policy_version(
        PolicyArn=policy["Arn"],
        PolicyDocument=json.dumps(allow("events:Describe*")),
        SetAsDefault=True,
    )
    iam.attach_role_policy(RoleName="Worker", PolicyArn=policy["Arn"])
    aws_managed = "arn:aws:iam::aws:policy/AWSStepFunctionsReadOnlyAccess"
    iam.attach_role_policy(RoleName="Worker", PolicyArn=aws_managed)
    granted_before = first.context.roles.policies_for(role["Arn"])
    first.stop()

    assert not (tmp_path / IAM_FILE).exists()  # kept in the database

    second = serve_service("sqlite", directory=tmp_path)
    iam = second.iam
    restored = iam.get_role(RoleName="worker")["Role"]
    for field in ("RoleId", "Arn", "CreateDate", "Path", "AssumeRolePolicyDocument", "Tags"):
        assert restored[field] == (role[field] if field in role else restored[field])
    assert restored["Tags"] == [{"Key": "env", "Value": "test"}]
    assert iam.get_role_policy(RoleName="Worker", PolicyName="Http")["PolicyDocument"] == allow(
        "states:InvokeHTTPEndpoint"
    )
    again = iam.get_policy(PolicyArn=policy["Arn"])["Policy"]
    assert again["PolicyId"] == policy["PolicyId"]
    assert again["DefaultVersionId"] == "v2"
    assert again["AttachmentCount"] == 1
    assert [
        v["VersionId"] for v in iam.list_policy_versions(PolicyArn=policy["Arn"])["Versions"]
    ] == [
        "v2",
        "v1",
    ]
    attached = iam.list_attached_role_policies(RoleName="Worker")["AttachedPolicies"]
    assert {p["PolicyArn"] for p in attached} == {policy["Arn"], aws_managed}
    assert iam.get_policy(PolicyArn=aws_managed)["Policy"]["AttachmentCount"] == 1
    # The next version number continues where it was.
    third = iam.create_policy_version(
        PolicyArn=policy["Arn"], PolicyDocument=json.dumps(allow("x:y"))
    )
    assert third["PolicyVersion"]["VersionId"] == "v3"

    granted_after = second.context.roles.policies_for(role["Arn"])
    assert granted_before is not None and granted_after is not None
    assert len(granted_after) == len(granted_before) == 3
