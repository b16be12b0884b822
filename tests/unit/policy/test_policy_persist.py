"""Roles.export_state and load_state: all a restarted service needs, never half-loaded."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import orjson
import pytest

from stepline.policy import Roles

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
AWS_READ_ONLY = "arn:aws:iam::aws:policy/AWSStepFunctionsReadOnlyAccess"


def allow(action: str) -> str:
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": action, "Resource": "*"}],
        }
    )


def populated() -> tuple[Roles, str, str]:
    roles = Roles(clock=lambda: datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC))
    role_arn = roles.create_role("Worker", TRUST, path="/svc/", tags=[{"Key": "k", "Value": "v"}])[
        "Role"
    ]["Arn"]
    roles.put_role_policy("Worker", "Inline", allow("states:InvokeHTTPEndpoint"))
    policy_arn = roles.create_policy("Managed", allow("events:*"), description="d")["Policy"]["Arn"]
    roles.create_policy_version(policy_arn, allow("events:Describe*"), set_as_default=True)
    roles.create_policy_version(policy_arn, allow("events:List*"))
    roles.delete_policy_version(policy_arn, "v3")
    roles.attach_role_policy("Worker", policy_arn)
    roles.attach_role_policy("Worker", AWS_READ_ONLY)
    roles.create_role("Idle", TRUST)
    return roles, role_arn, policy_arn


def test_round_trip_through_json_keeps_every_answer() -> None:
    roles, role_arn, policy_arn = populated()
    state = orjson.loads(orjson.dumps(roles.export_state()))
    restored = Roles()
    restored.load_state(state)
    assert restored.get_role("Worker") == roles.get_role("Worker")
    assert restored.list_roles() == roles.list_roles()
    assert restored.get_role_policy("Worker", "Inline") == roles.get_role_policy("Worker", "Inline")
    assert restored.get_policy(policy_arn) == roles.get_policy(policy_arn)
    assert restored.list_policy_versions(policy_arn) == roles.list_policy_versions(policy_arn)
    assert restored.get_policy(AWS_READ_ONLY)["Policy"]["AttachmentCount"] == 1
    assert restored.list_attached_role_policies("Worker") == roles.list_attached_role_policies(
        "Worker"
    )
    # Version numbers continue; policies evaluate as before.
    assert (
        restored.create_policy_version(policy_arn, allow("x:y"))["PolicyVersion"]["VersionId"]
        == "v4"
    )
    granted = restored.policies_for(role_arn)
    assert granted is not None and len(granted) == 3


def test_loading_replaces_what_was_there() -> None:
    roles, _, _ = populated()
    target = Roles()
    target.create_role("Stale", TRUST)
    target.attach_role_policy("Stale", AWS_READ_ONLY)
    target.load_state(roles.export_state())
    assert [r["RoleName"] for r in target.list_roles()["Roles"]] == ["Idle", "Worker"]
    assert target.get_policy(AWS_READ_ONLY)["Policy"]["AttachmentCount"] == 1


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda s: s.update(format=2), "unknown format"),
        (lambda s: s.update(account="999999999999"), "saved for account"),
        (
            lambda s: s["roles"][0]["attached"].append("arn:aws:iam::aws:policy/Nope"),
            "unknown policy",
        ),
    ],
)
def test_bad_state_is_refused_and_changes_nothing(change: object, message: str) -> None:
    roles, _, _ = populated()
    state = roles.export_state()
    change(state)  # type: ignore[operator]
    target = Roles()
    target.create_role("Kept", TRUST)
    with pytest.raises(ValueError, match=message):
        target.load_state(state)
    assert [r["RoleName"] for r in target.list_roles()["Roles"]] == ["Kept"]
