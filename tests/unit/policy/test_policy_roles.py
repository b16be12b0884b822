"""The in-memory IAM: role and policy CRUD, versions, attachments, pagination and AWS errors."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from stepline.policy import (
    AwsManagedPolicy,
    DeleteConflict,
    EntityAlreadyExists,
    IamError,
    InvalidInput,
    LimitExceeded,
    MalformedPolicyDocument,
    NoSuchEntity,
    Roles,
    ValidationError,
    evaluate,
)

ACCOUNT = "111122223333"
TRUST = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": "states.amazonaws.com"},
                "Action": "sts:AssumeRole",
            }
        ],
    }
)
ALLOW_HTTP = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "states:InvokeHTTPEndpoint", "Resource": "*"}],
    }
)
ALLOW_EVENTS = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "events:*", "Resource": "*"}],
    }
)
SFN_FULL = "arn:aws:iam::aws:policy/AWSStepFunctionsFullAccess"


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2024, 5, 1, 12, 0, 0, 123456, tzinfo=UTC)

    def __call__(self) -> datetime:
        self.now += timedelta(seconds=1)
        return self.now


@pytest.fixture
def roles() -> Roles:
    return Roles(ACCOUNT, clock=Clock())


def error_of(call: Callable[[], Any], kind: type[IamError]) -> IamError:
    with pytest.raises(kind) as caught:
        call()
    return caught.value


# --- roles -----------------------------------------------------------------------------------


def test_create_role_response_shape(roles: Roles) -> None:
    role = roles.create_role(
        "Exec",
        TRUST,
        path="/service-role/",
        description="runs workflows",
        max_session_duration=7200,
        tags=[{"Key": "team", "Value": "pay"}],
    )["Role"]
    assert role["Arn"] == f"arn:aws:iam::{ACCOUNT}:role/service-role/Exec"
    assert role["RoleName"] == "Exec" and role["Path"] == "/service-role/"
    assert re.fullmatch(r"AROA[A-Z0-9]{17}", role["RoleId"])
    assert role["AssumeRolePolicyDocument"] == TRUST
    assert role["Description"] == "runs workflows"
    assert role["MaxSessionDuration"] == 7200
    assert role["Tags"] == [{"Key": "team", "Value": "pay"}]
    assert role["CreateDate"] == datetime(2024, 5, 1, 12, 0, 1, tzinfo=UTC)


def test_get_role_adds_tags_and_last_used(roles: Roles) -> None:
    roles.create_role("Exec", TRUST, tags=[{"Key": "k", "Value": "v"}])
    role = roles.get_role("exec")["Role"]  # names ignore case
    assert role["RoleName"] == "Exec"
    assert role["MaxSessionDuration"] == 3600
    assert role["Tags"] == [{"Key": "k", "Value": "v"}]
    assert role["RoleLastUsed"] == {}
    assert "Description" not in role


def test_role_names_are_unique_ignoring_case(roles: Roles) -> None:
    roles.create_role("Exec", TRUST)
    error = error_of(lambda: roles.create_role("EXEC", TRUST), EntityAlreadyExists)
    assert error.code == "EntityAlreadyExists" and error.http_status == 409
    assert error.message.startswith("Role with name EXEC already exists.")


def test_unknown_role(roles: Roles) -> None:
    error = error_of(lambda: roles.get_role("Nope"), NoSuchEntity)
    assert error.code == "NoSuchEntity" and error.http_status == 404
    assert error.message.startswith("The role with name Nope cannot be found.")


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        (
            {"role_name": "bad name"},
            "at 'roleName' failed to satisfy constraint: Member must "
            "satisfy regular expression pattern: [\\w+=,.@-]+",
        ),
        ({"role_name": "x" * 65}, "Member must have length less than or equal to 64"),
        ({"role_name": ""}, "Member must have length greater than or equal to 1"),
        ({"path": "no-slash"}, "at 'path' failed to satisfy constraint"),
        ({"max_session_duration": 60}, "greater than or equal to 3600"),
        ({"max_session_duration": 50000}, "less than or equal to 43200"),
        ({"description": "x" * 1001}, "at 'description'"),
        ({"assume_role_policy_document": ""}, "at 'assumeRolePolicyDocument'"),
        ({"assume_role_policy_document": '{"€": 1}'}, "regular expression pattern"),
        ({"tags": [{"Key": "", "Value": "v"}]}, "at 'tags.1.member.key'"),
        ({"tags": [{"Key": "k", "Value": "v"}] * 51}, "less than or equal to 50"),
    ],
)
def test_create_role_validation(roles: Roles, kwargs: dict[str, Any], expected: str) -> None:
    arguments: dict[str, Any] = {"role_name": "Exec", "assume_role_policy_document": TRUST}
    arguments.update(kwargs)
    error = error_of(lambda: roles.create_role(**arguments), ValidationError)
    assert error.code == "ValidationError"
    assert error.message.startswith("1 validation error detected: Value ")
    assert expected in error.message


def test_duplicate_tag_keys_ignore_case(roles: Roles) -> None:
    tags = [{"Key": "Team", "Value": "a"}, {"Key": "team", "Value": "b"}]
    error = error_of(lambda: roles.create_role("Exec", TRUST, tags=tags), InvalidInput)
    assert "Duplicate tag keys found" in error.message


def test_trust_policy_is_validated(roles: Roles) -> None:
    bad = json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": "*"}],
        }
    )
    error = error_of(lambda: roles.create_role("Exec", bad), MalformedPolicyDocument)
    assert "Has prohibited field Resource" in error.message
    big = json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"AWS": [f"arn:aws:iam::{i:012d}:root" for i in range(100)]},
                    "Action": "sts:AssumeRole",
                }
            ],
        }
    )
    error = error_of(lambda: roles.create_role("Exec", big), LimitExceeded)
    assert "ACLSizePerRole: 2048" in error.message


def test_list_roles_paginates_by_name(roles: Roles) -> None:
    for name in ["delta", "Alpha", "charlie", "bravo", "echo"]:
        roles.create_role(name, TRUST)
    seen: list[str] = []
    marker = None
    for _ in range(10):
        page = roles.list_roles(marker=marker, max_items=2)
        seen.extend(role["RoleName"] for role in page["Roles"])
        assert "Tags" not in str(page) and "RoleLastUsed" not in str(page)
        if not page["IsTruncated"]:
            assert "Marker" not in page
            break
        marker = page["Marker"]
    assert seen == ["Alpha", "bravo", "charlie", "delta", "echo"]


def test_list_roles_marker_survives_deletion(roles: Roles) -> None:
    for name in ["a", "b", "c", "d"]:
        roles.create_role(name, TRUST)
    first = roles.list_roles(max_items=2)
    roles.delete_role("c")  # the first item of the next page disappears
    second = roles.list_roles(marker=first["Marker"], max_items=2)
    assert [r["RoleName"] for r in second["Roles"]] == ["d"]
    assert second["IsTruncated"] is False


def test_list_roles_path_prefix_and_bad_inputs(roles: Roles) -> None:
    roles.create_role("A", TRUST, path="/app/")
    roles.create_role("B", TRUST)
    assert [r["RoleName"] for r in roles.list_roles(path_prefix="/app/")["Roles"]] == ["A"]
    assert len(roles.list_roles()["Roles"]) == 2
    error_of(lambda: roles.list_roles(path_prefix="app"), ValidationError)
    error_of(lambda: roles.list_roles(max_items=0), ValidationError)
    error_of(lambda: roles.list_roles(max_items=1001), ValidationError)
    error = error_of(lambda: roles.list_roles(marker="%%%"), ValidationError)
    assert "Invalid Marker" in error.message


def test_delete_role_conflicts_until_policies_are_gone(roles: Roles) -> None:
    roles.create_role("Exec", TRUST)
    roles.put_role_policy("Exec", "http", ALLOW_HTTP)
    roles.attach_role_policy("Exec", SFN_FULL)
    error = error_of(lambda: roles.delete_role("Exec"), DeleteConflict)
    assert error.message.startswith("Cannot delete entity, must detach all policies first.")
    roles.detach_role_policy("Exec", SFN_FULL)
    error = error_of(lambda: roles.delete_role("Exec"), DeleteConflict)
    assert error.message.startswith("Cannot delete entity, must delete policies first.")
    roles.delete_role_policy("Exec", "http")
    roles.delete_role("Exec")
    error_of(lambda: roles.get_role("Exec"), NoSuchEntity)


# --- inline policies -------------------------------------------------------------------------


def test_inline_policy_crud(roles: Roles) -> None:
    roles.create_role("Exec", TRUST)
    roles.put_role_policy("Exec", "http", ALLOW_HTTP)
    roles.put_role_policy("Exec", "events", ALLOW_EVENTS)
    assert roles.get_role_policy("Exec", "http") == {
        "RoleName": "Exec",
        "PolicyName": "http",
        "PolicyDocument": ALLOW_HTTP,
    }
    listed = roles.list_role_policies("Exec")
    assert listed == {"PolicyNames": ["events", "http"], "IsTruncated": False}
    page = roles.list_role_policies("Exec", max_items=1)
    assert page["PolicyNames"] == ["events"] and page["IsTruncated"]
    rest = roles.list_role_policies("Exec", marker=page["Marker"])
    assert rest["PolicyNames"] == ["http"]
    roles.put_role_policy("Exec", "http", ALLOW_EVENTS)  # replaces
    assert roles.get_role_policy("Exec", "http")["PolicyDocument"] == ALLOW_EVENTS
    roles.delete_role_policy("Exec", "http")
    error = error_of(lambda: roles.get_role_policy("Exec", "http"), NoSuchEntity)
    assert error.message.startswith("The role policy with name http cannot be found.")
    error_of(lambda: roles.delete_role_policy("Exec", "http"), NoSuchEntity)
    error_of(lambda: roles.put_role_policy("Nope", "x", ALLOW_HTTP), NoSuchEntity)


def test_inline_policy_is_validated(roles: Roles) -> None:
    roles.create_role("Exec", TRUST)
    error = error_of(lambda: roles.put_role_policy("Exec", "p", "{}"), MalformedPolicyDocument)
    assert "Statement" in error.message
    with_principal = json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Principal": "*", "Action": "*", "Resource": "*"}],
        }
    )
    error = error_of(
        lambda: roles.put_role_policy("Exec", "p", with_principal), MalformedPolicyDocument
    )
    assert "should not specify a principal" in error.message
    error_of(lambda: roles.put_role_policy("Exec", "bad name", ALLOW_HTTP), ValidationError)


def test_inline_policies_share_a_size_quota(roles: Roles) -> None:
    roles.create_role("Exec", TRUST)
    actions = [f"states:Action{i:04d}" for i in range(300)]
    big = json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": actions, "Resource": "*"}],
        }
    )
    roles.put_role_policy("Exec", "one", big)
    error = error_of(lambda: roles.put_role_policy("Exec", "two", big), LimitExceeded)
    assert "Maximum policy size of 10240 bytes exceeded for role Exec" in error.message
    roles.put_role_policy("Exec", "one", big)  # replacing does not double count


# --- managed policies and versions -----------------------------------------------------------


def test_create_and_get_policy(roles: Roles) -> None:
    created = roles.create_policy(
        "CallStripe",
        ALLOW_HTTP,
        path="/http/",
        description="stripe",
        tags=[{"Key": "a", "Value": "b"}],
    )["Policy"]
    arn = f"arn:aws:iam::{ACCOUNT}:policy/http/CallStripe"
    assert created["Arn"] == arn
    assert re.fullmatch(r"ANPA[A-Z0-9]{17}", created["PolicyId"])
    assert created["DefaultVersionId"] == "v1"
    assert created["AttachmentCount"] == 0 and created["PermissionsBoundaryUsageCount"] == 0
    assert created["IsAttachable"] is True
    assert created["Description"] == "stripe"
    assert created["Tags"] == [{"Key": "a", "Value": "b"}]
    assert roles.get_policy(arn)["Policy"] == created


def test_policy_errors(roles: Roles) -> None:
    roles.create_policy("P", ALLOW_HTTP)
    error = error_of(lambda: roles.create_policy("p", ALLOW_HTTP), EntityAlreadyExists)
    assert error.message.startswith("A policy called p already exists.")
    error = error_of(lambda: roles.get_policy("P"), InvalidInput)
    assert error.message.startswith("ARN P is not valid.")
    missing = f"arn:aws:iam::{ACCOUNT}:policy/Missing"
    error = error_of(lambda: roles.get_policy(missing), NoSuchEntity)
    assert error.message.startswith(f"Policy {missing} does not exist or is not attachable.")
    error_of(lambda: roles.get_policy(f"arn:aws:iam::{ACCOUNT}:policy/other/P"), NoSuchEntity)
    error_of(lambda: roles.create_policy("Q", '{"Statement": []}'), MalformedPolicyDocument)


def test_managed_policy_size_quota(roles: Roles) -> None:
    actions = [f"states:Action{i:04d}" for i in range(400)]
    big = json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": actions, "Resource": "*"}],
        }
    )
    error = error_of(lambda: roles.create_policy("Big", big), LimitExceeded)
    assert "PolicySize: 6144" in error.message


def test_policy_versions_lifecycle(roles: Roles) -> None:
    arn = roles.create_policy("P", ALLOW_HTTP)["Policy"]["Arn"]
    v2 = roles.create_policy_version(arn, ALLOW_EVENTS)["PolicyVersion"]
    assert v2["VersionId"] == "v2" and v2["IsDefaultVersion"] is False
    assert "Document" not in v2
    v3 = roles.create_policy_version(arn, ALLOW_EVENTS, set_as_default=True)["PolicyVersion"]
    assert v3["IsDefaultVersion"] is True
    assert roles.get_policy(arn)["Policy"]["DefaultVersionId"] == "v3"
    got = roles.get_policy_version(arn, "v1")["PolicyVersion"]
    assert got["Document"] == ALLOW_HTTP and got["IsDefaultVersion"] is False
    listed = roles.list_policy_versions(arn)
    assert [v["VersionId"] for v in listed["Versions"]] == ["v3", "v2", "v1"]
    assert all("Document" not in v for v in listed["Versions"])
    page = roles.list_policy_versions(arn, max_items=2)
    assert page["IsTruncated"]
    assert [
        v["VersionId"] for v in roles.list_policy_versions(arn, marker=page["Marker"])["Versions"]
    ] == ["v1"]
    roles.create_policy_version(arn, ALLOW_HTTP)
    roles.create_policy_version(arn, ALLOW_HTTP)
    error = error_of(lambda: roles.create_policy_version(arn, ALLOW_HTTP), LimitExceeded)
    assert error.message.startswith("A managed policy can have up to 5 versions.")
    error = error_of(lambda: roles.delete_policy_version(arn, "v3"), DeleteConflict)
    assert error.message.startswith("Cannot delete the default version of a policy.")
    roles.delete_policy_version(arn, "v1")
    assert roles.create_policy_version(arn, ALLOW_HTTP)["PolicyVersion"]["VersionId"] == "v6"
    roles.set_default_policy_version(arn, "v6")
    assert roles.get_policy(arn)["Policy"]["DefaultVersionId"] == "v6"
    error = error_of(lambda: roles.get_policy_version(arn, "v1"), NoSuchEntity)
    assert "version v1 does not exist" in error.message
    error_of(lambda: roles.set_default_policy_version(arn, "v9"), NoSuchEntity)
    error_of(lambda: roles.get_policy_version(arn, "1"), ValidationError)
    error_of(lambda: roles.create_policy_version(arn, "not json"), MalformedPolicyDocument)


def test_update_date_moves_with_versions(roles: Roles) -> None:
    policy = roles.create_policy("P", ALLOW_HTTP)["Policy"]
    roles.create_policy_version(policy["Arn"], ALLOW_EVENTS)
    later = roles.get_policy(policy["Arn"])["Policy"]
    assert later["CreateDate"] == policy["CreateDate"]
    assert later["UpdateDate"] > policy["UpdateDate"]


def test_delete_policy_rules(roles: Roles) -> None:
    roles.create_role("Exec", TRUST)
    arn = roles.create_policy("P", ALLOW_HTTP)["Policy"]["Arn"]
    roles.attach_role_policy("Exec", arn)
    error = error_of(lambda: roles.delete_policy(arn), DeleteConflict)
    assert error.message.startswith("Cannot delete a policy attached to entities.")
    roles.detach_role_policy("Exec", arn)
    roles.create_policy_version(arn, ALLOW_EVENTS)
    error = error_of(lambda: roles.delete_policy(arn), DeleteConflict)
    assert error.message.startswith("This policy has more than one version.")
    roles.delete_policy_version(arn, "v2")
    roles.delete_policy(arn)
    error_of(lambda: roles.get_policy(arn), NoSuchEntity)
    roles.create_policy("P", ALLOW_HTTP)  # the name is free again


# --- attachments and listing -----------------------------------------------------------------


def test_attach_detach_and_list(roles: Roles) -> None:
    roles.create_role("Exec", TRUST)
    local = roles.create_policy("Local", ALLOW_HTTP, path="/app/")["Policy"]["Arn"]
    roles.attach_role_policy("Exec", local)
    roles.attach_role_policy("Exec", SFN_FULL)
    roles.attach_role_policy("Exec", SFN_FULL)  # attaching twice changes nothing
    attached = roles.list_attached_role_policies("Exec")
    assert attached == {
        "AttachedPolicies": [
            {"PolicyName": "AWSStepFunctionsFullAccess", "PolicyArn": SFN_FULL},
            {"PolicyName": "Local", "PolicyArn": local},
        ],
        "IsTruncated": False,
    }
    only_app = roles.list_attached_role_policies("Exec", path_prefix="/app/")
    assert [p["PolicyName"] for p in only_app["AttachedPolicies"]] == ["Local"]
    assert roles.get_policy(local)["Policy"]["AttachmentCount"] == 1
    assert roles.get_policy(SFN_FULL)["Policy"]["AttachmentCount"] == 1
    roles.detach_role_policy("Exec", SFN_FULL)
    error = error_of(lambda: roles.detach_role_policy("Exec", SFN_FULL), NoSuchEntity)
    assert error.message.startswith(f"Policy {SFN_FULL} was not found.")
    error_of(lambda: roles.attach_role_policy("Nope", local), NoSuchEntity)
    error_of(lambda: roles.attach_role_policy("Exec", "not-an-arn"), InvalidInput)


def test_unknown_aws_managed_policy_cannot_be_attached(roles: Roles) -> None:
    roles.create_role("Exec", TRUST)
    arn = "arn:aws:iam::aws:policy/NoSuchAwsPolicy"
    error = error_of(lambda: roles.attach_role_policy("Exec", arn), NoSuchEntity)
    assert error.message.startswith(f"Policy {arn} does not exist or is not attachable.")


def test_attachment_quota() -> None:
    roles = Roles(ACCOUNT, max_attached_policies_per_role=2)
    roles.create_role("Exec", TRUST)
    for name in ["A", "B", "C"]:
        roles.create_policy(name, ALLOW_HTTP)
    roles.attach_role_policy("Exec", f"arn:aws:iam::{ACCOUNT}:policy/A")
    roles.attach_role_policy("Exec", f"arn:aws:iam::{ACCOUNT}:policy/B")
    error = error_of(
        lambda: roles.attach_role_policy("Exec", f"arn:aws:iam::{ACCOUNT}:policy/C"),
        LimitExceeded,
    )
    assert "PoliciesPerRole: 2" in error.message


def test_list_policies_scopes_and_filters(roles: Roles) -> None:
    roles.create_role("Exec", TRUST)
    roles.create_policy("Zeta", ALLOW_HTTP)
    roles.create_policy("Alpha", ALLOW_HTTP, path="/app/")
    roles.attach_role_policy("Exec", SFN_FULL)

    def names(**kwargs: Any) -> list[str]:
        return [p["PolicyName"] for p in roles.list_policies(**kwargs)["Policies"]]

    assert names(scope="Local") == ["Alpha", "Zeta"]
    assert names(scope="AWS") == [
        "AdministratorAccess",
        "AmazonEventBridgeFullAccess",
        "AWSStepFunctionsFullAccess",
        "AWSStepFunctionsReadOnlyAccess",
    ]
    assert len(names()) == 6
    assert names(only_attached=True) == ["AWSStepFunctionsFullAccess"]
    assert names(path_prefix="/app/") == ["Alpha"]
    assert names(policy_usage_filter="PermissionsBoundary") == []
    assert "Description" not in roles.list_policies()["Policies"][0]
    error_of(lambda: roles.list_policies(scope="Mine"), InvalidInput)
    error_of(lambda: roles.list_policies(policy_usage_filter="X"), InvalidInput)
    collected: list[str] = []
    marker = None
    for _ in range(10):
        page = roles.list_policies(marker=marker, max_items=4)
        collected.extend(p["PolicyName"] for p in page["Policies"])
        if not page["IsTruncated"]:
            break
        marker = page["Marker"]
    assert collected == names()


def test_aws_managed_policies_cannot_change(roles: Roles) -> None:
    for call in (
        lambda: roles.delete_policy(SFN_FULL),
        lambda: roles.create_policy_version(SFN_FULL, ALLOW_HTTP),
        lambda: roles.delete_policy_version(SFN_FULL, "v1"),
        lambda: roles.set_default_policy_version(SFN_FULL, "v1"),
    ):
        error = error_of(call, IamError)
        assert error.code == "AccessDenied" and error.http_status == 403
        assert "AWS managed policies cannot be changed" in error.message
    version = roles.get_policy_version(SFN_FULL, "v1")["PolicyVersion"]
    assert "states:*" in version["Document"] and version["IsDefaultVersion"]


def test_custom_aws_managed_catalogue() -> None:
    custom = AwsManagedPolicy(
        name="MyServiceRolePolicy",
        path="/service-role/",
        document=ALLOW_EVENTS,
    )
    roles = Roles(ACCOUNT, aws_managed_policies=[custom])
    arn = "arn:aws:iam::aws:policy/service-role/MyServiceRolePolicy"
    policy = roles.get_policy(arn)["Policy"]
    assert policy["Path"] == "/service-role/" and "Description" not in policy
    assert roles.get_policy(arn)["Policy"]["PolicyId"] == policy["PolicyId"]  # stable
    error_of(lambda: roles.get_policy(SFN_FULL), NoSuchEntity)


# --- compiled policies for the engine --------------------------------------------------------


def test_policies_for_follows_changes(roles: Roles) -> None:
    arn = roles.create_role("Exec", TRUST)["Role"]["Arn"]
    assert roles.policies_for(arn) == ()
    assert roles.policies_for(f"arn:aws:iam::{ACCOUNT}:role/Other") is None
    assert roles.policies_for("arn:aws:iam::999999999999:role/Exec") is None
    assert roles.policies_for(f"arn:aws:iam::{ACCOUNT}:role/path/Exec") is None
    assert roles.policies_for("nonsense") is None

    def allowed(action: str) -> bool:
        policies = roles.policies_for(arn)
        assert policies is not None
        return evaluate(policies, action=action, resource="*", context={}).allowed

    roles.put_role_policy("Exec", "http", ALLOW_HTTP)
    first = roles.policies_for(arn)
    assert first is roles.policies_for(arn)  # cached
    assert allowed("states:InvokeHTTPEndpoint") and not allowed("events:PutEvents")
    managed = roles.create_policy("P", ALLOW_HTTP)["Policy"]["Arn"]
    roles.attach_role_policy("Exec", managed)
    roles.create_policy_version(managed, ALLOW_EVENTS)  # not default: no effect
    assert not allowed("events:PutEvents")
    roles.set_default_policy_version(managed, "v2")
    assert allowed("events:PutEvents")
    roles.detach_role_policy("Exec", managed)
    assert not allowed("events:PutEvents")
    roles.delete_role_policy("Exec", "http")
    assert not allowed("states:InvokeHTTPEndpoint")
    policies = roles.policies_for(arn.upper().replace("ARN:AWS:IAM", "arn:aws:iam"))
    assert policies == ()  # role names ignore case


def test_role_identity(roles: Roles) -> None:
    arn = roles.create_role("Exec", TRUST, tags=[{"Key": "team", "Value": "pay"}])["Role"]["Arn"]
    identity = roles.role_identity(arn)
    assert identity is not None
    assert (identity.name, identity.arn, identity.account) == ("Exec", arn, ACCOUNT)
    assert identity.tags == (("team", "pay"),)
    assert roles.role_identity(arn + "x") is None


def test_account_must_be_twelve_digits() -> None:
    with pytest.raises(ValueError, match="12 digits"):
        Roles("123")
