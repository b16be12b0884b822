"""AWS's evaluation logic: deny beats allow, Not* elements, wildcards, case rules, variables."""

from __future__ import annotations

from typing import Any

import pytest

from stepline.policy import Outcome, Policy, evaluate, parse_policy

ACCOUNT = "123456789012"
SM = f"arn:aws:states:us-east-1:{ACCOUNT}:stateMachine:Pay"
CONNECTION = f"arn:aws:events:us-east-1:{ACCOUNT}:connection/stripe/0a1b2c3d-4e5f"


def policy(*statements: dict[str, Any], version: str | None = "2012-10-17") -> Policy:
    document: dict[str, Any] = {"Statement": list(statements)}
    if version:
        document["Version"] = version
    return parse_policy(document, name="test policy")


def allow(action: Any = "*", resource: Any = "*", **extra: Any) -> dict[str, Any]:
    return {"Effect": "Allow", "Action": action, "Resource": resource, **extra}


def deny(action: Any = "*", resource: Any = "*", **extra: Any) -> dict[str, Any]:
    return {"Effect": "Deny", "Action": action, "Resource": resource, **extra}


def outcome(
    policies: list[Policy] | Policy,
    action: str = "states:InvokeHTTPEndpoint",
    resource: str = SM,
    context: dict[str, Any] | None = None,
) -> Outcome:
    listed = policies if isinstance(policies, list) else [policies]
    return evaluate(listed, action=action, resource=resource, context=context or {}).outcome


ALLOWED, EXPLICIT, IMPLICIT = Outcome.ALLOWED, Outcome.EXPLICIT_DENY, Outcome.IMPLICIT_DENY


def test_no_policies_is_an_implicit_deny() -> None:
    decision = evaluate([], action="s3:GetObject", resource="*", context={})
    assert decision.implicit_deny and not decision.allowed and not decision.explicit_deny
    assert decision.policy is None and decision.statement is None and decision.describe() == ""


def test_allow_names_the_deciding_statement() -> None:
    p = policy(allow("s3:*"), {**allow(), "Sid": "All"})
    decision = evaluate([p], action="states:StartExecution", resource=SM, context={})
    assert decision.allowed and decision.policy is p
    assert decision.statement is p.statements[1]
    assert decision.describe() == 'statement "All" (Statement[1]) of test policy'


@pytest.mark.parametrize(
    ("statements", "expected"),
    [
        ([allow(), deny()], EXPLICIT),
        ([deny(), allow()], EXPLICIT),
        ([allow(), deny("s3:*")], ALLOWED),
        ([allow(), deny(resource="arn:aws:states:*:*:stateMachine:Other")], ALLOWED),
        ([deny("s3:*")], IMPLICIT),
        ([allow("s3:*")], IMPLICIT),
    ],
)
def test_explicit_deny_beats_allow_within_a_policy(
    statements: list[dict[str, Any]], expected: Outcome
) -> None:
    assert outcome(policy(*statements)) is expected


def test_explicit_deny_beats_allow_across_policies_in_any_order() -> None:
    allowing, denying = policy(allow()), policy(deny("states:Invoke*"))
    assert outcome([allowing, denying]) is EXPLICIT
    assert outcome([denying, allowing]) is EXPLICIT
    decision = evaluate(
        [allowing, denying], action="states:InvokeHTTPEndpoint", resource=SM, context={}
    )
    assert decision.policy is denying


@pytest.mark.parametrize(
    ("pattern", "action", "matches"),
    [
        ("states:InvokeHTTPEndpoint", "states:InvokeHTTPEndpoint", True),
        ("states:InvokeHTTPEndpoint", "STATES:invokehttpendpoint", True),
        ("STATES:INVOKEHTTPENDPOINT", "states:InvokeHTTPEndpoint", True),
        ("states:Invoke*", "states:InvokeHTTPEndpoint", True),
        ("states:invoke*", "states:InvokeHTTPEndpoint", True),
        ("states:Invoke*", "states:StartExecution", False),
        ("states:*", "states:StartExecution", True),
        ("states:*", "events:RetrieveConnectionCredentials", False),
        ("*", "events:RetrieveConnectionCredentials", True),
        ("states:Describe?tateMachine", "states:DescribeStateMachine", True),
        ("states:Describe?tateMachine", "states:DescribeStateMachineX", False),
        ("states:Describe?", "states:Describe", False),
        ("states:*Execution", "states:StartExecution", True),
        ("states:*Execution", "states:StartExecutionNow", False),
        ("states:Invoke", "states:InvokeHTTPEndpoint", False),
    ],
)
def test_action_wildcards_and_case(pattern: str, action: str, matches: bool) -> None:
    assert (outcome(policy(allow(pattern)), action=action) is ALLOWED) is matches


def test_action_lists_are_ored() -> None:
    p = policy(allow(["s3:GetObject", "states:Invoke*", "events:Retrieve*"]))
    assert outcome(p, action="events:RetrieveConnectionCredentials") is ALLOWED
    assert outcome(p, action="s3:PutObject") is IMPLICIT


@pytest.mark.parametrize(
    ("pattern", "resource", "matches"),
    [
        (SM, SM, True),
        (SM.lower(), SM, False),  # resources are case-sensitive
        ("*", SM, True),
        ("arn:aws:states:us-east-1:123456789012:*", SM, True),  # segment-ending * crosses ':'
        ("arn:aws:states:*", SM, True),
        ("arn:aws:states:*:*:stateMachine:*", SM, True),
        ("arn:aws:states:*:*:stateMachine:P?y", SM, True),
        ("arn:aws:states:*:*:stateMachine:P?", SM, False),
        ("arn:aws:states:us-*-1:123456789012:stateMachine:Pay", SM, True),
        (
            "arn:aws:states:us-*-1:123456789012:stateMachine:Pay",
            "arn:aws:states:us-east:x-1:123456789012:stateMachine:Pay",
            False,
        ),  # * inside a segment
        ("arn:aws:states:*:*:stateMachine:Pay", SM + "2", False),
        ("arn:aws:events:*:*:connection/stripe/*", CONNECTION, True),
        ("arn:aws:events:*:*:connection/*", CONNECTION, True),
        ("arn:aws:events:*:*:connection/paddle/*", CONNECTION, False),
        ("arn:aws:s3:::bucket/*", "arn:aws:s3:::bucket/a:b/c", True),
    ],
)
def test_resource_wildcards_and_case(pattern: str, resource: str, matches: bool) -> None:
    assert (outcome(policy(allow(resource=pattern)), resource=resource) is ALLOWED) is matches


def test_not_action_allows_everything_else() -> None:
    p = policy({"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"})
    assert outcome(p, action="states:InvokeHTTPEndpoint") is ALLOWED
    assert outcome(p, action="IAM:CreateRole") is IMPLICIT


def test_not_action_deny_denies_everything_else() -> None:
    p = policy(allow(), {"Effect": "Deny", "NotAction": ["states:*", "events:*"], "Resource": "*"})
    assert outcome(p, action="states:InvokeHTTPEndpoint") is ALLOWED
    assert outcome(p, action="s3:GetObject") is EXPLICIT


def test_not_resource_semantics() -> None:
    p = policy({"Effect": "Allow", "Action": "states:*", "NotResource": SM})
    assert outcome(p, resource=SM) is IMPLICIT
    assert outcome(p, resource=SM + "Other") is ALLOWED
    guard = policy(allow(), {"Effect": "Deny", "Action": "*", "NotResource": "arn:aws:states:*"})
    assert outcome(guard, resource=SM) is ALLOWED
    assert outcome(guard, resource=CONNECTION) is EXPLICIT


def test_conditions_gate_a_statement() -> None:
    p = policy(allow(Condition={"StringEquals": {"states:HTTPMethod": "GET"}}))
    assert outcome(p, context={"states:HTTPMethod": "GET"}) is ALLOWED
    assert outcome(p, context={"states:HTTPMethod": "POST"}) is IMPLICIT
    assert outcome(p) is IMPLICIT


def test_context_keys_ignore_case() -> None:
    p = policy(allow(Condition={"StringEquals": {"states:HTTPMethod": "GET"}}))
    assert outcome(p, context={"STATES:httpmethod": "GET"}) is ALLOWED


def test_context_values_must_be_strings() -> None:
    with pytest.raises(TypeError, match="states:HTTPMethod"):
        evaluate([policy(allow())], action="a:b", resource="*", context={"states:HTTPMethod": 3})  # type: ignore[dict-item]


# --- the HTTP Task's own cases ---------------------------------------------------------------

HTTP_TASK_POLICY = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Sid": "InvokeStripe",
            "Effect": "Allow",
            "Action": "states:InvokeHTTPEndpoint",
            "Resource": SM,
            "Condition": {
                "StringEquals": {"states:HTTPMethod": "GET"},
                "StringLike": {"states:HTTPEndpoint": "https://api.stripe.com/*"},
            },
        },
        {
            "Sid": "RetrieveConnection",
            "Effect": "Allow",
            "Action": "events:RetrieveConnectionCredentials",
            "Resource": CONNECTION,
        },
        {
            "Sid": "ReadConnectionSecret",
            "Effect": "Allow",
            "Action": ["secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"],
            "Resource": "arn:aws:secretsmanager:*:*:secret:events!connection/*",
        },
    ],
}


@pytest.mark.parametrize(
    ("method", "endpoint", "expected"),
    [
        ("GET", "https://api.stripe.com/v1/charges", ALLOWED),
        ("GET", "https://api.stripe.com/", ALLOWED),
        ("POST", "https://api.stripe.com/v1/charges", IMPLICIT),
        ("get", "https://api.stripe.com/v1/charges", IMPLICIT),  # StringEquals is exact
        ("GET", "https://api.stripe.com", IMPLICIT),
        ("GET", "https://API.stripe.com/v1/charges", IMPLICIT),  # StringLike is case-sensitive
        ("GET", "https://api.stripe.com.evil.example/x", IMPLICIT),
        ("GET", "https://evil.example/https://api.stripe.com/", IMPLICIT),
    ],
)
def test_invoke_http_endpoint_conditions(method: str, endpoint: str, expected: Outcome) -> None:
    p = parse_policy(HTTP_TASK_POLICY)
    context = {"states:HTTPMethod": method, "states:HTTPEndpoint": endpoint}
    assert outcome(p, context=context) is expected


def test_invoke_http_endpoint_on_another_state_machine_is_denied() -> None:
    p = parse_policy(HTTP_TASK_POLICY)
    context = {"states:HTTPMethod": "GET", "states:HTTPEndpoint": "https://api.stripe.com/v1"}
    assert outcome(p, resource=SM.replace("Pay", "Refund"), context=context) is IMPLICIT


def test_retrieve_connection_credentials_and_secret() -> None:
    p = parse_policy(HTTP_TASK_POLICY)
    assert outcome(p, "events:RetrieveConnectionCredentials", CONNECTION) is ALLOWED
    other = CONNECTION.replace("stripe", "paddle")
    assert outcome(p, "events:RetrieveConnectionCredentials", other) is IMPLICIT
    secret = f"arn:aws:secretsmanager:us-east-1:{ACCOUNT}:secret:events!connection/stripe/abc-XyZ"
    assert outcome(p, "secretsmanager:GetSecretValue", secret) is ALLOWED
    assert outcome(p, "secretsmanager:DescribeSecret", secret) is ALLOWED
    assert outcome(p, "secretsmanager:PutSecretValue", secret) is IMPLICIT


# --- policy variables ------------------------------------------------------------------------


def test_variable_in_resource_is_substituted() -> None:
    p = policy(allow(resource="arn:aws:s3:::bucket/${aws:username}/*"))
    assert (
        outcome(p, resource="arn:aws:s3:::bucket/alice/x", context={"aws:username": "alice"})
        is ALLOWED
    )
    assert (
        outcome(p, resource="arn:aws:s3:::bucket/bob/x", context={"aws:username": "alice"})
        is IMPLICIT
    )


def test_variable_value_is_literal_not_a_wildcard() -> None:
    p = policy(allow(resource="arn:aws:s3:::bucket/${aws:username}"))
    assert (
        outcome(p, resource="arn:aws:s3:::bucket/anyone", context={"aws:username": "*"}) is IMPLICIT
    )
    assert outcome(p, resource="arn:aws:s3:::bucket/*", context={"aws:username": "*"}) is ALLOWED


def test_variable_without_a_value_matches_nothing() -> None:
    p = policy(allow(resource="arn:aws:s3:::bucket/${aws:username}"))
    assert outcome(p, resource="arn:aws:s3:::bucket/", context={}) is IMPLICIT
    assert outcome(p, resource="arn:aws:s3:::bucket/${aws:username}", context={}) is IMPLICIT


def test_multi_valued_key_cannot_be_a_variable() -> None:
    p = policy(allow(resource="arn:aws:s3:::bucket/${aws:username}"))
    context = {"aws:username": ["a", "b"]}
    assert outcome(p, resource="arn:aws:s3:::bucket/a", context=context) is IMPLICIT


def test_variable_default_value() -> None:
    p = policy(allow(resource="arn:aws:s3:::bucket/${aws:PrincipalTag/team, 'shared'}/*"))
    assert outcome(p, resource="arn:aws:s3:::bucket/shared/x") is ALLOWED
    team = {"aws:PrincipalTag/team": "pay"}
    assert outcome(p, resource="arn:aws:s3:::bucket/pay/x", context=team) is ALLOWED
    assert outcome(p, resource="arn:aws:s3:::bucket/shared/x", context=team) is IMPLICIT


def test_unresolvable_variable_in_not_resource_makes_statement_not_apply() -> None:
    p = policy(
        allow(),
        {"Effect": "Deny", "Action": "*", "NotResource": "arn:aws:s3:::home/${aws:username}/*"},
    )
    assert outcome(p, resource="arn:aws:s3:::other") is ALLOWED  # deny statement is invalid
    assert outcome(p, resource="arn:aws:s3:::other", context={"aws:username": "a"}) is EXPLICIT
    assert outcome(p, resource="arn:aws:s3:::home/a/x", context={"aws:username": "a"}) is ALLOWED


@pytest.mark.parametrize(
    ("written", "literal_resource"),
    [
        ("arn:aws:s3:::b/${*}", "arn:aws:s3:::b/*"),
        ("arn:aws:s3:::b/${?}", "arn:aws:s3:::b/?"),
        ("arn:aws:s3:::b/${$}x", "arn:aws:s3:::b/$x"),
    ],
)
def test_escapes_stand_for_literal_characters(written: str, literal_resource: str) -> None:
    p = policy(allow(resource=written))
    assert outcome(p, resource=literal_resource) is ALLOWED
    assert outcome(p, resource=literal_resource.replace(literal_resource[-1], "Z")) is IMPLICIT


def test_variables_are_plain_text_without_version_2012() -> None:
    for version in (None, "2008-10-17"):
        p = policy(allow(resource="arn:aws:s3:::b/${aws:username}"), version=version)
        assert outcome(p, resource="arn:aws:s3:::b/${aws:username}") is ALLOWED
        assert (
            outcome(p, resource="arn:aws:s3:::b/alice", context={"aws:username": "alice"})
            is IMPLICIT
        )


def test_variables_never_apply_to_actions() -> None:
    p = policy(allow(action="states:${aws:username}"))
    assert outcome(p, action="states:alice", context={"aws:username": "alice"}) is IMPLICIT


def test_statements_for_caches_per_action_ignoring_case() -> None:
    p = policy(allow("states:*"), deny("states:Invoke*"), allow("s3:*"))
    first = p.statements_for("states:InvokeHTTPEndpoint")
    assert first is p.statements_for("STATES:invokehttpendpoint")
    assert [s.index for s in first] == [1, 0]  # Deny statements first
    assert p.statements_for("s3:GetObject") == (p.statements[2],)
