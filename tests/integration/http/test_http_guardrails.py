"""What keeps HTTP Tasks in bounds: the egress rules, execution-role policies, and the
per-connection concurrency cap (an extension)."""

from __future__ import annotations

import asyncio
import json

import pytest
from _live_http_kit import (
    KEYGEN_ARN,
    create_payments_connection,
    create_seed_connections,
    details,
    events,
    http_state,
    http_task,
    one_task,
)

from stepline import ExecutionResult, StateMachine, VirtualClock
from stepline.connections import ConnectionLimits, Connections
from stepline.egress import EgressSettings
from stepline.policy import PolicyEnforcer, Roles
from support.fake_apis import FakeApis

ACCOUNT = "123456789012"
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

# --- egress ---------------------------------------------------------------------------------


def _fetch_user(apis: FakeApis, user: str = "u1", **fields: object) -> dict[str, object]:
    return one_task(
        http_state(f"{apis.base_url}/v1/accounts/acme/users/{user}", KEYGEN_ARN, **fields)
    )


def test_loopback_is_refused_without_an_allow_rule(apis: FakeApis) -> None:
    connections = Connections()
    create_seed_connections(connections, apis)
    retry = [{"ErrorEquals": ["States.ALL"], "MaxAttempts": 3}]
    machine = StateMachine(
        _fetch_user(apis, Retry=retry),
        http=http_task(connections, settings=EgressSettings.from_env({})),
        clock=VirtualClock(),
    )

    result = machine.run({})

    assert (result.status, result.error) == ("FAILED", "States.Runtime")
    assert "STEPLINE_HTTP_ALLOW" in (result.cause or "")
    assert "loopback" in (result.cause or "") or "http://" in (result.cause or "")
    # A refusal is terminal: States.ALL does not retry States.Runtime, and nothing was sent.
    assert len(events(result, "TaskScheduled")) == 1
    assert apis.requests == []


def test_plain_http_to_a_public_name_is_refused_before_connecting(apis: FakeApis) -> None:
    connections = Connections()
    create_seed_connections(connections, apis)
    definition = one_task(http_state("http://api.keygen.sh/v1/accounts/acme/users/u1", KEYGEN_ARN))
    machine = StateMachine(
        definition,
        http=http_task(connections, settings=EgressSettings.from_env({})),
        clock=VirtualClock(),
    )

    result = machine.run({})

    assert result.error == "States.Runtime"
    assert "plain http://" in (result.cause or "")
    assert "STEPLINE_HTTP_ALLOW" in (result.cause or "")


def test_allow_rule_from_the_environment(apis: FakeApis, monkeypatch: pytest.MonkeyPatch) -> None:
    connections = Connections()
    create_seed_connections(connections, apis)
    definition = _fetch_user(apis)

    monkeypatch.delenv("STEPLINE_HTTP_ALLOW", raising=False)
    refused = StateMachine(definition, connections=connections).run({})
    monkeypatch.setenv("STEPLINE_HTTP_ALLOW", "127.0.0.0/8")
    allowed = StateMachine(definition, connections=connections).run({})

    assert refused.error == "States.Runtime"
    assert allowed.status == "SUCCEEDED", allowed.cause
    assert allowed.output["ResponseBody"]["data"]["id"] == "u1"


def test_oauth_token_requests_obey_the_egress_rules(apis: FakeApis) -> None:
    connections = Connections()
    arn = create_payments_connection(connections, apis)
    machine = StateMachine(
        one_task(http_state(f"{apis.base_url}/v1/charges", arn, method="POST")),
        http=http_task(connections, settings=EgressSettings.from_env({})),
        clock=VirtualClock(),
    )

    result = machine.run({})

    # The egress rules, not the connection, are at fault: a terminal States.Runtime, and the
    # connection is not deauthorized, so allowing the endpoint is enough to go on.
    assert result.status == "FAILED"
    assert result.error == "States.Runtime"
    assert "STEPLINE_HTTP_ALLOW" in (result.cause or "")
    assert "authorization endpoint" in (result.cause or "")
    assert apis.requests == []
    assert connections.describe("Payments")["ConnectionState"] == "AUTHORIZING"

    charge = http_state(
        f"{apis.base_url}/v1/charges", arn, method="POST", parameters={"RequestBody": {"amount": 5}}
    )
    allowed = StateMachine(one_task(charge), http=http_task(connections), clock=VirtualClock()).run(
        {}
    )
    assert allowed.status == "SUCCEEDED", allowed.cause
    assert connections.describe("Payments")["ConnectionState"] == "AUTHORIZED"


# --- execution-role policies -----------------------------------------------------------------


def _roles(connections: Connections, *, retrieve: bool = True) -> Roles:
    roles = Roles(account=ACCOUNT)
    roles.create_role("HttpCaller", TRUST)
    secret_arn = connections.describe("Keygen")["SecretArn"]
    statements: list[dict[str, object]] = [
        {
            "Effect": "Allow",
            "Action": "states:InvokeHTTPEndpoint",
            "Resource": f"arn:aws:states:us-east-1:{ACCOUNT}:stateMachine:*",
            "Condition": {
                "StringEquals": {"states:HTTPMethod": "GET"},
                "StringLike": {"states:HTTPEndpoint": "http://127.0.0.1:*/v1/*"},
            },
        },
        {
            "Effect": "Allow",
            "Action": ["secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"],
            "Resource": secret_arn,
        },
    ]
    if retrieve:
        statements.append(
            {
                "Effect": "Allow",
                "Action": "events:RetrieveConnectionCredentials",
                "Resource": KEYGEN_ARN,
            }
        )
    roles.put_role_policy(
        "HttpCaller", "InvokeKeygen", json.dumps({"Version": "2012-10-17", "Statement": statements})
    )
    return roles


def _policed(
    apis: FakeApis, definition: dict[str, object], *, role: str, retrieve: bool = True
) -> tuple[StateMachine, Connections]:
    connections = Connections()
    create_seed_connections(connections, apis)
    roles = _roles(connections, retrieve=retrieve)
    machine = StateMachine(
        definition,
        role_arn=f"arn:aws:iam::{ACCOUNT}:role/{role}",
        http=http_task(connections, policy=PolicyEnforcer(roles)),
        clock=VirtualClock(),
    )
    return machine, connections


def test_policy_allows_get_on_the_allowed_endpoints(apis: FakeApis) -> None:
    machine, _ = _policed(apis, _fetch_user(apis), role="HttpCaller")

    result = machine.run({})

    assert result.status == "SUCCEEDED", result.cause
    assert len(apis.recorded("/v1/accounts/acme/users/u1")) == 1


def test_policy_refuses_post_with_states_permissions(apis: FakeApis) -> None:
    endpoint = f"{apis.base_url}/v1/accounts/acme/licenses"
    definition = one_task(http_state(endpoint, KEYGEN_ARN, method="POST"))
    machine, _ = _policed(apis, definition, role="HttpCaller")

    result = machine.run({})

    assert (result.status, result.error) == ("FAILED", "States.Permissions")
    cause = result.cause or ""
    assert "states:InvokeHTTPEndpoint" in cause
    assert endpoint in cause
    assert "POST" in cause
    assert apis.requests == []


def test_policy_refuses_an_endpoint_outside_the_pattern(apis: FakeApis) -> None:
    definition = one_task(http_state(f"{apis.base_url}/status/200", KEYGEN_ARN))
    machine, _ = _policed(apis, definition, role="HttpCaller")

    result = machine.run({})

    assert result.error == "States.Permissions"
    assert apis.requests == []


def test_role_without_retrieve_connection_credentials(apis: FakeApis) -> None:
    machine, _ = _policed(apis, _fetch_user(apis), role="HttpCaller", retrieve=False)

    result = machine.run({})

    assert result.error == "Events.ConnectionResource.AccessDenied"
    assert "events:RetrieveConnectionCredentials" in (result.cause or "")
    assert KEYGEN_ARN in (result.cause or "")
    assert apis.requests == []


def test_unknown_role_runs_unchecked_unless_strict(
    apis: FakeApis, monkeypatch: pytest.MonkeyPatch
) -> None:
    machine, _ = _policed(apis, _fetch_user(apis), role="SomebodyElse")
    assert machine.run({}).status == "SUCCEEDED"

    connections = Connections()
    create_seed_connections(connections, apis)
    strict = StateMachine(
        _fetch_user(apis),
        role_arn=f"arn:aws:iam::{ACCOUNT}:role/SomebodyElse",
        http=http_task(connections, policy=PolicyEnforcer(_roles(connections), strict=True)),
        clock=VirtualClock(),
    )
    refused = strict.run({})
    assert refused.error == "States.Permissions"
    assert "unknown" in (refused.cause or "")

    # The same through the environment, with the HTTP Task the state machine builds itself.
    monkeypatch.setenv("STEPLINE_HTTP_ALLOW", "127.0.0.0/8")
    monkeypatch.setenv("STEPLINE_IAM", "strict")
    from_env = StateMachine(
        _fetch_user(apis),
        role_arn=f"arn:aws:iam::{ACCOUNT}:role/SomebodyElse",
        connections=connections,
        roles=_roles(connections),
    ).run({})
    assert from_env.error == "States.Permissions"
    assert len(apis.requests) == 1  # only the first, unchecked run got through


# --- per-connection limits (extension) -------------------------------------------------------


def _burst(apis: FakeApis, limits: ConnectionLimits | None) -> list[ExecutionResult]:
    connections = Connections()
    create_seed_connections(connections, apis, limits=limits)
    machine = StateMachine(
        one_task(http_state(f"{apis.base_url}/slow", KEYGEN_ARN)),
        http=http_task(connections),
        clock=VirtualClock(),
    )

    async def run_all() -> list[ExecutionResult]:
        return await asyncio.gather(*(machine.run_async({}) for _ in range(20)))

    return asyncio.run(run_all())


def test_max_concurrency_caps_requests_in_flight(apis: FakeApis) -> None:
    apis.slow_seconds = 0.05

    results = _burst(apis, ConnectionLimits(max_concurrency=2))

    assert all(r.succeeded for r in results)
    assert len(apis.recorded("/slow")) == 20
    assert 1 <= apis.max_in_flight <= 2


def test_without_limits_requests_overlap(apis: FakeApis) -> None:
    apis.slow_seconds = 0.2

    results = _burst(apis, None)

    assert all(r.succeeded for r in results)
    assert apis.max_in_flight > 2
    assert [details(e)["resource"] for e in events(results[0], "TaskScheduled")] == ["invoke"]


def test_limits_hold_across_state_machines_and_http_tasks(apis: FakeApis) -> None:
    """Two state machines, each with its own HttpTask, share the process's pacing."""
    apis.slow_seconds = 0.05
    connections = Connections()
    create_seed_connections(connections, apis, limits=ConnectionLimits(max_concurrency=2))
    machines = [
        StateMachine(
            one_task(http_state(f"{apis.base_url}/slow", KEYGEN_ARN)),
            http=http_task(connections),
            clock=VirtualClock(),
        )
        for _ in range(2)
    ]

    async def run_all() -> list[ExecutionResult]:
        return await asyncio.gather(*(m.run_async({}) for m in machines for _ in range(10)))

    results = asyncio.run(run_all())

    assert all(r.succeeded for r in results)
    assert len(apis.recorded("/slow")) == 20
    assert 1 <= apis.max_in_flight <= 2
