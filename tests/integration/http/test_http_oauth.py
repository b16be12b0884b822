"""The payments API through an OAuth client-credentials connection: one token for many calls,
proactive refresh before expiry, one refresh on a 401, coalescing of concurrent token requests,
a failing token endpoint, and the whole exchange over real TLS with a test CA."""

from __future__ import annotations

import asyncio
import base64
import json
from pathlib import Path
from urllib.parse import parse_qs

from _live_http_kit import (
    charge_machine,
    create_payments_connection,
    details,
    events,
    http_state,
    http_task,
    one_task,
)

from stepline import ExecutionResult, StateMachine, VirtualClock
from stepline.connections import Connections
from stepline.egress import TlsOptions
from support.fake_apis import FakeApis
from support.tls import TestCA


class ManualClock:
    """Seconds since the epoch, moved by the test (for the connections' token expiry)."""

    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


def _payments(
    apis: FakeApis, connections: Connections | None = None, **connection: object
) -> tuple[StateMachine, Connections, str]:
    registry = connections if connections is not None else Connections()
    arn = create_payments_connection(registry, apis, **connection)  # type: ignore[arg-type]
    machine = StateMachine(
        charge_machine(apis, arn), http=http_task(registry), clock=VirtualClock()
    )
    return machine, registry, arn


def _bearers(apis: FakeApis) -> list[str]:
    return [
        r.headers["Authorization"].removeprefix("Bearer ") for r in apis.recorded("/v1/charges")
    ]


def test_one_token_serves_many_calls(apis: FakeApis) -> None:
    machine, _, _ = _payments(apis)

    results = [machine.run({"amount": amount}) for amount in (100, 250, 999, 5, 42)]

    assert [r.output for r in results] == [
        {"paid": True, "amount": amount} for amount in (100, 250, 999, 5, 42)
    ]
    assert len(apis.tokens_issued) == 1
    assert _bearers(apis) == apis.tokens_issued * 5
    (token_request,) = apis.recorded("/oauth/token")
    expected = base64.b64encode(
        f"{apis.secrets.client_id}:{apis.secrets.client_secret}".encode()
    ).decode()
    assert token_request.method == "POST"
    assert token_request.headers["Authorization"] == f"Basic {expected}"
    assert token_request.headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert parse_qs(token_request.text) == {
        "grant_type": ["client_credentials"],
        "scope": ["charges:write"],
    }


def test_token_near_expiry_is_refreshed_before_use() -> None:
    # Tokens living 30 s are always inside the 60 s refresh window: every call refreshes.
    with FakeApis(token_lifetime=30) as apis:
        machine, _, _ = _payments(apis)
        for amount in (1, 2, 3):
            assert machine.run({"amount": amount}).succeeded
        assert len(apis.tokens_issued) == 3
        assert _bearers(apis) == apis.tokens_issued


def test_token_is_refreshed_when_the_clock_reaches_the_refresh_window(apis: FakeApis) -> None:
    clock = ManualClock()
    machine, _, _ = _payments(apis, Connections(clock=clock))

    assert machine.run({"amount": 1}).succeeded
    clock.now += 3600 - 61  # still more than 60 s left
    assert machine.run({"amount": 2}).succeeded
    assert len(apis.tokens_issued) == 1
    clock.now += 2  # 59 s left: inside the window
    assert machine.run({"amount": 3}).succeeded

    assert len(apis.tokens_issued) == 2
    assert _bearers(apis) == [apis.tokens_issued[0]] * 2 + [apis.tokens_issued[1]]


def test_revoked_token_gets_401_then_one_refresh_and_resend(apis: FakeApis) -> None:
    machine, _, _ = _payments(apis)
    assert machine.run({"amount": 10}).succeeded
    apis.revoke_tokens()

    result = machine.run({"amount": 20})

    assert result.status == "SUCCEEDED", result.cause
    assert result.output == {"paid": True, "amount": 20}
    assert len(apis.tokens_issued) == 2  # exactly one extra token request
    assert len(apis.recorded("/oauth/token")) == 2
    first, second = apis.tokens_issued
    assert _bearers(apis) == [first, first, second]
    # The refresh and resend happen inside one task attempt: one TaskScheduled, no TaskFailed.
    assert len(events(result, "TaskScheduled")) == 1
    assert events(result, "TaskFailed") == []


def test_fifty_concurrent_executions_share_one_token_request(apis: FakeApis) -> None:
    machine, _, _ = _payments(apis)

    async def run_all() -> list[ExecutionResult]:
        return await asyncio.gather(
            *(machine.run_async({"amount": n}, name=f"charge-{n}") for n in range(50))
        )

    results = asyncio.run(run_all())

    assert all(r.succeeded for r in results), [r.cause for r in results if not r.succeeded]
    assert sorted(r.output["amount"] for r in results) == list(range(50))
    assert len(apis.recorded("/oauth/token")) == 1
    assert len(apis.tokens_issued) == 1
    assert set(_bearers(apis)) == set(apis.tokens_issued)


def test_failing_token_endpoint_deauthorizes_the_connection(apis: FakeApis) -> None:
    machine, connections, arn = _payments(apis, client_secret="cs-not-the-right-one")

    result = machine.run({"amount": 1})

    assert result.status == "FAILED"
    assert result.error == "Events.ConnectionResource.InvalidConnectionState"
    assert arn in (result.cause or "")
    assert "DEAUTHORIZED" in (result.cause or "")
    assert "cs-not-the-right-one" not in (result.cause or "")
    described = connections.describe("Payments")
    assert described["ConnectionState"] == "DEAUTHORIZED"
    assert described["StateReason"]
    assert "cs-not-the-right-one" not in json.dumps(described, default=str)
    assert apis.recorded("/v1/charges") == []
    failed = details(events(result, "TaskFailed")[0])
    assert failed["error"] == "Events.ConnectionResource.InvalidConnectionState"

    # DEAUTHORIZED stays so: the next execution fails without asking the token endpoint again.
    again = machine.run({"amount": 2})
    assert again.error == "Events.ConnectionResource.InvalidConnectionState"
    assert len(apis.recorded("/oauth/token")) == 1


def test_payments_over_tls_with_a_test_ca(tmp_path: Path) -> None:
    ca = TestCA.create()
    server = ca.issue_server(tmp_path)
    with FakeApis(ssl_context=server.server_context()) as apis:
        assert apis.base_url.startswith("https://127.0.0.1:")
        registry = Connections()
        machine, _, _ = _payments(apis, registry, tls=TlsOptions(ca_bundle_pem=ca.cert_pem))

        first = machine.run({"amount": 7})
        apis.revoke_tokens()
        second = machine.run({"amount": 8})

        assert first.output == {"paid": True, "amount": 7}, first.cause
        assert second.output == {"paid": True, "amount": 8}, second.cause
        assert len(apis.tokens_issued) == 2

        # The same server without the test CA: the certificate is not trusted.
        untrusted = registry.create_api_key("Untrusted", "X-Api-Key", "not-checked")
        plain = StateMachine(
            one_task(http_state(f"{apis.base_url}/v1/charges", untrusted, method="POST")),
            http=http_task(registry),
            clock=VirtualClock(),
        )
        refused = plain.run({})
        assert refused.error == "States.Http.Socket", refused.cause
        assert len(apis.recorded("/v1/charges")) == 3
