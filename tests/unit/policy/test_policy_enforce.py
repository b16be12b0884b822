"""The enforcer the HTTP Task calls before each request: modes, messages, request context."""

from __future__ import annotations

import json

import pytest

from stepline.policy import (
    ENVIRONMENT_VARIABLE,
    AccessDenied,
    EnforcementMode,
    PolicyEnforcer,
    Roles,
)

ACCOUNT = "123456789012"
SM = f"arn:aws:states:us-east-1:{ACCOUNT}:stateMachine:Pay"
CONNECTION = f"arn:aws:events:us-east-1:{ACCOUNT}:connection/stripe/0a1b2c3d"
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
HTTP_POLICY = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Action": "states:InvokeHTTPEndpoint",
                "Resource": SM,
                "Condition": {
                    "StringEquals": {"states:HTTPMethod": "GET"},
                    "StringLike": {"states:HTTPEndpoint": "https://api.stripe.com/*"},
                },
            },
            {
                "Effect": "Allow",
                "Action": "events:RetrieveConnectionCredentials",
                "Resource": CONNECTION,
            },
        ],
    }
)
STRIPE_GET = {"states:HTTPMethod": "GET", "states:HTTPEndpoint": "https://api.stripe.com/v1/x"}


@pytest.fixture
def roles() -> Roles:
    roles = Roles(ACCOUNT)
    roles.create_role("Exec", TRUST, tags=[{"Key": "team", "Value": "pay"}])
    roles.put_role_policy("Exec", "http", HTTP_POLICY)
    return roles


ROLE = f"arn:aws:iam::{ACCOUNT}:role/Exec"
UNKNOWN = f"arn:aws:iam::{ACCOUNT}:role/Ghost"


def denied(enforcer: PolicyEnforcer, *args: object, **kwargs: object) -> AccessDenied:
    with pytest.raises(AccessDenied) as caught:
        enforcer.check(*args, **kwargs)  # type: ignore[arg-type]
    return caught.value


def test_allowed_request_passes(roles: Roles) -> None:
    enforcer = PolicyEnforcer(roles)
    enforcer.check(ROLE, "states:InvokeHTTPEndpoint", SM, STRIPE_GET)
    enforcer.check(ROLE, "events:RetrieveConnectionCredentials", CONNECTION)


def test_implicit_deny_message_follows_aws(roles: Roles) -> None:
    error = denied(
        PolicyEnforcer(roles),
        ROLE,
        "states:InvokeHTTPEndpoint",
        SM,
        {**STRIPE_GET, "states:HTTPMethod": "POST"},
    )
    assert error.message == (
        f"User: arn:aws:sts::{ACCOUNT}:assumed-role/Exec/stepline is not authorized to perform: "
        f"states:InvokeHTTPEndpoint on resource: {SM} because no identity-based policy allows "
        "the states:InvokeHTTPEndpoint action"
    )
    assert error.code == "AccessDenied" and error.http_status == 403
    assert (error.action, error.resource, error.role_arn) == (
        "states:InvokeHTTPEndpoint",
        SM,
        ROLE,
    )
    assert error.explicit is False
    assert error.decision is not None and error.decision.implicit_deny
    assert str(error).startswith(error.message + ". Add a statement allowing")
    assert "role Exec" in error.hint


def test_explicit_deny_message_names_the_statement(roles: Roles) -> None:
    roles.put_role_policy(
        "Exec",
        "guard",
        json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Sid": "NoConnections",
                        "Effect": "Deny",
                        "Action": "events:*",
                        "Resource": "*",
                    }
                ],
            }
        ),
    )
    error = denied(
        PolicyEnforcer(roles),
        ROLE,
        "events:RetrieveConnectionCredentials",
        CONNECTION,
        session_name="exec-42",
    )
    assert error.message == (
        f"User: arn:aws:sts::{ACCOUNT}:assumed-role/Exec/exec-42 is not authorized to perform: "
        f"events:RetrieveConnectionCredentials on resource: {CONNECTION} with an explicit deny "
        "in an identity-based policy"
    )
    assert error.explicit is True
    assert 'statement "NoConnections" (Statement[0]) of inline policy "guard"' in error.hint


def test_unknown_role_is_allowed_unless_strict(roles: Roles) -> None:
    PolicyEnforcer(roles).check(UNKNOWN, "states:InvokeHTTPEndpoint", SM)
    error = denied(PolicyEnforcer(roles, strict=True), UNKNOWN, "states:InvokeHTTPEndpoint", SM)
    assert error.message == (
        f"User: arn:aws:sts::{ACCOUNT}:assumed-role/Ghost/stepline is not authorized to perform: "
        f"states:InvokeHTTPEndpoint on resource: {SM} because the role {UNKNOWN} is unknown to "
        "stepline"
    )
    assert "CreateRole" in error.hint and ENVIRONMENT_VARIABLE in error.hint
    assert error.decision is None and error.explicit is False


def test_strict_with_a_malformed_role_arn(roles: Roles) -> None:
    error = denied(PolicyEnforcer(roles, strict=True), "not-an-arn", "a:b", "*")
    assert error.message.startswith("User: not-an-arn is not authorized")


def test_strict_still_evaluates_known_roles(roles: Roles) -> None:
    enforcer = PolicyEnforcer(roles, strict=True)
    assert enforcer.strict
    enforcer.check(ROLE, "states:InvokeHTTPEndpoint", SM, STRIPE_GET)
    denied(enforcer, ROLE, "states:StartExecution", SM)


def test_off_checks_nothing(roles: Roles) -> None:
    enforcer = PolicyEnforcer(roles, mode=EnforcementMode.OFF)
    enforcer.check(ROLE, "states:StartExecution", SM)
    enforcer.check(UNKNOWN, "states:StartExecution", SM)


@pytest.mark.parametrize(
    ("value", "mode"),
    [
        (None, EnforcementMode.PERMISSIVE),
        ("", EnforcementMode.PERMISSIVE),
        ("permissive", EnforcementMode.PERMISSIVE),
        ("strict", EnforcementMode.STRICT),
        (" STRICT ", EnforcementMode.STRICT),
        ("off", EnforcementMode.OFF),
    ],
)
def test_from_env(roles: Roles, value: str | None, mode: EnforcementMode) -> None:
    environ = {} if value is None else {ENVIRONMENT_VARIABLE: value}
    assert PolicyEnforcer.from_env(roles, environ).mode is mode


def test_from_env_refuses_other_values(roles: Roles) -> None:
    with pytest.raises(ValueError, match="STEPLINE_IAM='yes' is not a valid setting") as caught:
        PolicyEnforcer.from_env(roles, {ENVIRONMENT_VARIABLE: "yes"})
    for accepted in ("'strict'", "'permissive'", "'off'"):
        assert accepted in str(caught.value)


def test_from_env_reads_os_environ(roles: Roles, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ENVIRONMENT_VARIABLE, "strict")
    assert PolicyEnforcer.from_env(roles).strict


def test_principal_keys_are_in_the_request_context(roles: Roles) -> None:
    role_id = roles.get_role("Exec")["Role"]["RoleId"]
    roles.put_role_policy(
        "Exec",
        "principal",
        json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Action": "states:StartExecution",
                        "Resource": "*",
                        "Condition": {
                            "StringEquals": {
                                "aws:PrincipalArn": ROLE,
                                "aws:PrincipalAccount": ACCOUNT,
                                "aws:PrincipalType": "AssumedRole",
                                "aws:PrincipalTag/team": "pay",
                            },
                            "StringLike": {"aws:userid": f"{role_id}:*"},
                        },
                    }
                ],
            }
        ),
    )
    enforcer = PolicyEnforcer(roles)
    enforcer.check(ROLE, "states:StartExecution", SM)
    # A caller-supplied key replaces the derived one (keys compare ignoring case).
    denied(enforcer, ROLE, "states:StartExecution", SM, {"AWS:PrincipalTag/Team": "other"})


def test_enforcer_sees_policy_changes(roles: Roles) -> None:
    enforcer = PolicyEnforcer(roles)
    denied(enforcer, ROLE, "states:StartExecution", SM)
    roles.attach_role_policy("Exec", "arn:aws:iam::aws:policy/AWSStepFunctionsFullAccess")
    enforcer.check(ROLE, "states:StartExecution", SM)
    roles.detach_role_policy("Exec", "arn:aws:iam::aws:policy/AWSStepFunctionsFullAccess")
    denied(enforcer, ROLE, "states:StartExecution", SM)


def test_no_context_values_appear_in_messages(roles: Roles) -> None:
    secretish = "https://api.stripe.com/v1/x?api_key=sk_live_SECRET"
    error = denied(
        PolicyEnforcer(roles),
        ROLE,
        "states:InvokeHTTPEndpoint",
        SM,
        {"states:HTTPMethod": "DELETE", "states:HTTPEndpoint": secretish},
    )
    assert "sk_live_SECRET" not in str(error) and "sk_live_SECRET" not in repr(error)
