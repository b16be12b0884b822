"""The secret scan: run every scenario that uses credentials, keep everything stepline produced,
and find no credential in any of it.

Scanned: every history event, output, error and cause; every execution log record (the
library's ``ExecutionLogging`` at ``ALL`` with execution data); the ``repr``/``str`` of every
result and of every exception a direct call raised; connection descriptions and resolved
connections;
everything logged at DEBUG by any logger; the process's stdout and stderr; and the output of the
``stepline`` command run on the seed workflows. The secrets are every credential the fake APIs
accept (and their Basic-header forms), a wrong client secret, and every OAuth access token they
issued.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import secrets
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from _live_http_kit import (
    EXAMPLES,
    KEYGEN_ARN,
    TWILIO_ARN,
    charge_machine,
    create_payments_connection,
    create_seed_connections,
    http_state,
    http_task,
    loopback_settings,
    one_task,
    seed_definition,
    seed_text,
)

from stepline import ExecutionLogging, ExecutionResult, StateMachine, VirtualClock
from stepline.asl import StatesError
from stepline.connections import Connections, ConnectionsError
from stepline.egress import EgressSettings, TlsOptions
from stepline.policy import PolicyEnforcer, Roles
from stepline.tasks import HttpTask
from support.fake_apis import FakeApis
from support.tls import TestCA

ROOT = Path(__file__).resolve().parents[3]
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


class Evidence:
    """Everything stepline produced during the scan, as text."""

    def __init__(self) -> None:
        self.texts: list[str] = []
        self.results: list[ExecutionResult] = []

    def add(self, *values: Any) -> None:
        for value in values:
            self.texts.append(value if isinstance(value, str) else repr(value))

    def result(self, result: ExecutionResult) -> ExecutionResult:
        self.results.append(result)
        self.add(
            repr(result),
            str(result),
            json.dumps(result.history_events(), default=str),
            repr(result.history),
            json.dumps(result.output, default=str),
            str(result.error),
            str(result.cause),
        )
        return result

    def raised(self, call: Callable[[], Any]) -> BaseException | None:
        try:
            value = call()
        except Exception as exc:
            self.add(repr(exc), str(exc), repr(exc.args), str(getattr(exc, "cause", "")))
            return exc
        self.add(json.dumps(value, default=str))
        return None


# Every execution log record of the scenarios (ALL, with execution data): scanned too.
_EXECUTION_LOG: list[str] = []
_LOGGING = ExecutionLogging("ALL", include_execution_data=True, sink=_EXECUTION_LOG.append)


def _machine(definition: Any, http: HttpTask, **options: Any) -> StateMachine:
    options.setdefault("logging", _LOGGING)
    return StateMachine(definition, http=http, clock=VirtualClock(), **options)


def _seed_scenarios(apis: FakeApis, evidence: Evidence) -> None:
    connections = Connections()
    create_seed_connections(connections, apis)
    http = http_task(connections)
    license_flow = _machine(seed_definition("license-flow.json", apis), http)
    assert evidence.result(license_flow.run({"plan": "pro", "userId": "u-1"})).succeeded
    missing = evidence.result(license_flow.run({"plan": "pro", "userId": "missing"}))
    assert missing.error == "UnknownCustomer"
    apis.sms_failures = 2
    sms = _machine(seed_definition("sms-send.json", apis), http)
    sent = evidence.result(
        sms.run({"accountSid": apis.secrets.sms_user, "to": "+15550001111", "message": "hello"})
    )
    assert sent.succeeded, sent.cause
    slack = _machine(seed_definition("slack-notify.json", apis), http)
    assert evidence.result(slack.run({"service": "api", "status": "ok"})).succeeded

    # Failing calls of every kind, through a connection that carries a secret.
    expected = {
        "/status/404": "States.Http.StatusCode.404",
        "/status/429": "States.Http.StatusCode.429",
        "/status/503": "States.Http.StatusCode.503",
        "/huge": "States.DataLimitExceeded",
        "/binary": "States.Runtime",
    }
    for path, error in expected.items():
        machine = _machine(one_task(http_state(f"{apis.base_url}{path}", KEYGEN_ARN)), http)
        assert evidence.result(machine.run({})).error == error
        failure = evidence.raised(
            lambda path=path: asyncio.run(  # type: ignore[misc]
                http.call(
                    {
                        "ApiEndpoint": f"{apis.base_url}{path}",
                        "Method": "GET",
                        "Authentication": {"ConnectionArn": TWILIO_ARN},
                        "QueryParameters": {"note": "direct call"},
                    },
                    state_name="Direct",
                )
            )
        )
        assert isinstance(failure, StatesError) and failure.error == error

    hanging = http_task(connections, settings=loopback_settings(timeout_seconds=0.5))
    timed_out = _machine(one_task(http_state(f"{apis.base_url}/hang", KEYGEN_ARN)), hanging)
    assert evidence.result(timed_out.run({})).error == "States.Http.Socket"

    refused = http_task(connections, settings=EgressSettings.from_env({}))
    blocked = _machine(one_task(http_state(f"{apis.base_url}/status/200", TWILIO_ARN)), refused)
    assert evidence.result(blocked.run({})).error == "States.Runtime"

    bad_argument = _machine(
        one_task(
            http_state(
                f"{apis.base_url}/status/200",
                KEYGEN_ARN,
                parameters={"Headers.$": "$.headers"},
            )
        ),
        http,
    )
    assert (
        evidence.result(bad_argument.run({"headers": {"Host": "evil.example"}})).error
        == "States.Runtime"
    )

    evidence.add(repr(connections), json.dumps(connections.list(), default=str))
    for name in ("Keygen", "Slack", "Twilio"):
        evidence.add(json.dumps(connections.describe(name), default=str))
    evidence.add(repr(asyncio.run(connections.resolve(TWILIO_ARN))))


def _policy_scenarios(apis: FakeApis, evidence: Evidence) -> None:
    connections = Connections()
    create_seed_connections(connections, apis)
    roles = Roles(account="123456789012")
    roles.create_role("GetOnly", TRUST)
    roles.put_role_policy(
        "GetOnly",
        "Invoke",
        json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Action": "states:InvokeHTTPEndpoint",
                        "Resource": "*",
                        "Condition": {"StringEquals": {"states:HTTPMethod": "GET"}},
                    }
                ],
            }
        ),
    )
    http = http_task(connections, policy=PolicyEnforcer(roles, strict=True))
    role = "arn:aws:iam::123456789012:role/GetOnly"
    post = _machine(
        one_task(http_state(f"{apis.base_url}/echo", KEYGEN_ARN, method="POST")),
        http,
        role_arn=role,
    )
    get = _machine(one_task(http_state(f"{apis.base_url}/echo", KEYGEN_ARN)), http, role_arn=role)
    assert evidence.result(post.run({})).error == "States.Permissions"
    denied = evidence.result(get.run({}))
    assert denied.error == "Events.ConnectionResource.AccessDenied"


def _payment_scenarios(apis: FakeApis, evidence: Evidence, wrong_secret: str) -> None:
    now = [1_800_000_000.0]
    connections = Connections(clock=lambda: now[0])
    arn = create_payments_connection(connections, apis)
    http = http_task(connections)
    machine = _machine(charge_machine(apis, arn), http)
    for amount in (1, 2):
        assert evidence.result(machine.run({"amount": amount})).succeeded
    now[0] += 3600  # expired: proactive refresh
    assert evidence.result(machine.run({"amount": 3})).succeeded
    apis.revoke_tokens()  # 401, refresh, resend
    assert evidence.result(machine.run({"amount": 4})).succeeded
    assert len(apis.tokens_issued) == 3
    evidence.add(json.dumps(connections.describe("Payments"), default=str))
    evidence.add(repr(asyncio.run(connections.resolve(arn))))

    broken = create_payments_connection(
        connections, apis, name="PaymentsBroken", client_secret=wrong_secret
    )
    failing = _machine(charge_machine(apis, broken), http)
    result = evidence.result(failing.run({"amount": 5}))
    assert result.error == "Events.ConnectionResource.InvalidConnectionState"
    evidence.add(json.dumps(connections.describe("PaymentsBroken"), default=str))

    # A request that the registry refuses, with secrets in it: the error must not quote them.
    failure = evidence.raised(
        lambda: connections.create_basic(
            "Bad Name!", apis.secrets.sms_user, apis.secrets.sms_password
        )
    )
    assert isinstance(failure, ConnectionsError)
    failure = evidence.raised(
        lambda: connections.create_api_key(
            "BadKey", "Authorization", f"Bearer {apis.secrets.license_key}\n"
        )
    )
    assert isinstance(failure, ConnectionsError)


def _tls_scenarios(tmp_path: Path, evidence: Evidence, scanned: list[str]) -> None:
    ca = TestCA.create()
    server = ca.issue_server(tmp_path)
    with FakeApis(ssl_context=server.server_context()) as apis:
        connections = Connections()
        arn = create_payments_connection(
            connections, apis, tls=TlsOptions(ca_bundle_pem=ca.cert_pem)
        )
        http = http_task(connections)
        assert evidence.result(
            _machine(charge_machine(apis, arn), http).run({"amount": 9})
        ).succeeded
        untrusted = create_payments_connection(connections, apis, name="NoCa")
        failed = evidence.result(_machine(charge_machine(apis, untrusted), http).run({"amount": 1}))
        assert failed.error == "Events.ConnectionResource.InvalidConnectionState"
        scanned.extend([*apis.secrets.values(), *apis.tokens_issued])


def _cli_runs(apis: FakeApis, tmp_path: Path, evidence: Evidence) -> None:
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in ("STEPLINE_DEBUG", "PYTHONPATH", "STEPLINE_HTTP_ALLOW", "STEPLINE_IAM")
    }
    env.update(
        NO_COLOR="1",
        PYTHONIOENCODING="utf-8",
        KEYGEN_TOKEN=apis.secrets.license_key,
        SLACK_SIGNING_SECRET=apis.secrets.webhook_signing,
        TWILIO_ACCOUNT_SID=apis.secrets.sms_user,
        TWILIO_AUTH_TOKEN=apis.secrets.sms_password,
        STEPLINE_DEBUG="1",  # a traceback, if anything went wrong, must not leak either
    )
    license_flow = tmp_path / "license-flow.json"
    license_flow.write_text(seed_text("license-flow.json", apis.base_url), encoding="utf-8")
    runs = [
        [license_flow, "--input", '{"plan": "pro", "userId": "u-9"}'],
        [license_flow, "--json", "--input", '{"plan": "pro", "userId": "missing"}'],
    ]
    for args in runs:
        proc = subprocess.run(
            [
                sys.executable,
                "-m",
                "stepline",
                "run",
                *map(str, args),
                "--connections",
                str(EXAMPLES / "connections.yaml"),
                "--http-allow",
                "127.0.0.0/8",
            ],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            encoding="utf-8",
            env=env,
            timeout=120,
            check=False,
        )
        assert proc.returncode in (0, 1), proc.stderr
        assert "KEY-PRO" in proc.stdout or "UnknownCustomer" in proc.stdout
        evidence.add(proc.stdout, proc.stderr)


def test_no_secret_appears_anywhere(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, capfd: pytest.CaptureFixture[str]
) -> None:
    caplog.set_level(logging.DEBUG)
    evidence = Evidence()
    wrong_secret = "cs-wrong-" + secrets.token_hex(12)
    scanned: list[str] = [wrong_secret]
    with FakeApis() as apis:
        _seed_scenarios(apis, evidence)
        _policy_scenarios(apis, evidence)
        _payment_scenarios(apis, evidence, wrong_secret)
        _cli_runs(apis, tmp_path, evidence)
        scanned.extend([*apis.secrets.values(), *apis.tokens_issued])
        # The credentials did go over the wire, so the scan below looks for real values.
        wire = json.dumps([request.headers for request in apis.requests])
        assert apis.secrets.license_key in wire
        assert apis.secrets.webhook_signing in wire
        assert all(token in wire for token in apis.tokens_issued)
    _tls_scenarios(tmp_path, evidence, scanned)

    captured = capfd.readouterr()
    evidence.add(captured.out, captured.err, caplog.text)
    assert len(_EXECUTION_LOG) > 100
    evidence.add(*_EXECUTION_LOG)
    for record in caplog.records:
        evidence.add(record.getMessage(), repr(record.args), str(record.exc_info))
    assert len(evidence.results) >= 20
    everything = "\n".join(evidence.texts)
    assert "Events.ConnectionResource.InvalidConnectionState" in everything  # the scan sees it all
    leaks = [index for index, secret in enumerate(scanned) if secret in everything]
    assert leaks == [], f"secret values #{leaks} of {len(scanned)} leaked"
