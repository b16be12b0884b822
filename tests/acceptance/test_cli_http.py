"""``stepline run`` with HTTP Tasks: the seed workflows and ``examples/http/connections.yaml``,
run as a subprocess against fake APIs on 127.0.0.1.

The definitions are copied to a temporary directory with their provider endpoints pointed at the
fake server; the connections file is the example itself, its credentials coming from the
environment. No secret may appear in anything the command prints.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from support.cli_process import run_stepline
from support.fake_apis import FakeApis

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples" / "http"
CONNECTIONS = EXAMPLES / "connections.yaml"
SEED_HOSTS = ("https://api.keygen.sh", "https://hooks.slack.com", "https://api.twilio.com")


@pytest.fixture
def apis() -> Iterator[FakeApis]:
    with FakeApis() as servers:
        yield servers


def seed_copy(name: str, apis: FakeApis, directory: Path) -> Path:
    text = (EXAMPLES / name).read_text(encoding="utf-8")
    for host in SEED_HOSTS:
        text = text.replace(host, apis.base_url)
    path = directory / name
    path.write_text(text, encoding="utf-8")
    return path


def credentials(apis: FakeApis) -> dict[str, str]:
    """The variables examples/http/connections.yaml reads."""
    return {
        "KEYGEN_TOKEN": apis.secrets.license_key,
        "SLACK_SIGNING_SECRET": apis.secrets.webhook_signing,
        "TWILIO_ACCOUNT_SID": apis.secrets.sms_user,
        "TWILIO_AUTH_TOKEN": apis.secrets.sms_password,
    }


def assert_no_secret(apis: FakeApis, *texts: str) -> None:
    for secret in [*apis.secrets.values(), *apis.tokens_issued]:
        for text in texts:
            assert secret not in text, "a secret value was printed"


def test_license_flow_runs_with_the_example_connections(apis: FakeApis, tmp_path: Path) -> None:
    definition = seed_copy("license-flow.json", apis, tmp_path)

    proc = run_stepline(
        "run",
        definition,
        "--connections",
        CONNECTIONS,
        "--http-allow",
        "127.0.0.0/8",
        "--input",
        '{"plan": "pro", "userId": "u-42"}',
        cwd=tmp_path,
        env=credentials(apis),
    )

    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    for state in ("CreateLicense", "FetchCustomer", "SendLicense"):
        assert any(state in line and "Task" in line for line in lines), proc.stdout
    assert "SUCCEEDED" in proc.stdout
    assert '"key": "KEY-PRO"' in proc.stdout
    assert apis.recorded("/v1/accounts/acme/licenses")[0].headers["Authorization"] == (
        f"Bearer {apis.secrets.license_key}"
    )
    assert_no_secret(apis, proc.stdout, proc.stderr)


def test_sms_retries_and_slack_json_output(apis: FakeApis, tmp_path: Path) -> None:
    apis.sms_failures = 2
    sms = seed_copy("sms-send.json", apis, tmp_path)
    slack = seed_copy("slack-notify.json", apis, tmp_path)
    execution_input = json.dumps(
        {"accountSid": apis.secrets.sms_user, "to": "+15551234567", "message": "hi"}
    )

    sent = run_stepline(
        "run",
        sms,
        "--connections",
        CONNECTIONS,
        "--http-allow",
        "127.0.0.1",
        "--fast-waits",
        "--input",
        execution_input,
        cwd=tmp_path,
        env=credentials(apis),
    )
    notified = run_stepline(
        "run",
        slack,
        "--json",
        "--connections",
        CONNECTIONS,
        "--input",
        '{"service": "billing", "status": "done"}',
        cwd=tmp_path,
        env={**credentials(apis), "STEPLINE_HTTP_ALLOW": "127.0.0.0/8"},
    )

    assert sent.returncode == 0, sent.stderr
    assert sent.stdout.count("retry") == 2, sent.stdout
    assert "States.Http.StatusCode.503" in sent.stdout
    assert len(apis.recorded("/2010-04-01/")) == 3
    assert notified.returncode == 0, notified.stderr
    result = json.loads(notified.stdout)
    assert result["status"] == "SUCCEEDED"
    assert result["output"]["ResponseBody"] == "ok"
    assert_no_secret(apis, sent.stdout, sent.stderr, notified.stdout, notified.stderr)


def test_missing_connection_and_refused_egress_give_hints(apis: FakeApis, tmp_path: Path) -> None:
    definition = seed_copy("slack-notify.json", apis, tmp_path)

    execution_input = '{"service": "billing", "status": "done"}'

    unknown = run_stepline(
        "run", definition, "-i", execution_input, "--http-allow", "127.0.0.0/8", cwd=tmp_path
    )
    refused = run_stepline(
        "run",
        definition,
        "-i",
        execution_input,
        "--connections",
        CONNECTIONS,
        cwd=tmp_path,
        env=credentials(apis),
    )

    assert unknown.returncode == 1
    assert "Events.ConnectionResource.ResourceNotFound" in unknown.stdout
    assert "--connections FILE" in unknown.stderr
    assert "--task" not in unknown.stderr
    assert refused.returncode == 1
    assert "States.Runtime" in refused.stdout
    assert "--http-allow" in refused.stderr
    assert apis.requests == []
    assert_no_secret(apis, refused.stdout, refused.stderr)


def test_bad_connections_files_are_usage_errors(apis: FakeApis, tmp_path: Path) -> None:
    definition = seed_copy("slack-notify.json", apis, tmp_path)
    secret = apis.secrets.webhook_signing
    bad = tmp_path / "bad.json"
    bad.write_text(
        json.dumps(
            {
                "Connections": [
                    {
                        "Name": "Slack",
                        "AuthorizationType": "API_KEY",
                        "AuthParameters": {
                            "ApiKeyAuthParameters": {
                                "ApiKeyName": "X-Signing-Secret",
                                "ApiKeyValue": secret,
                            },
                            "InvocationHttpParameters": {
                                "HeaderParameters": [
                                    {"Key": "bad header", "Value": secret, "IsValueSecret": True}
                                ]
                            },
                        },
                    }
                ]
            }
        ),
        encoding="utf-8",
    )

    invalid = run_stepline("run", definition, "--connections", bad.name, cwd=tmp_path)
    unset = run_stepline(
        "run",
        definition,
        "--connections",
        CONNECTIONS,
        cwd=tmp_path,
        env={k: v for k, v in credentials(apis).items() if k != "SLACK_SIGNING_SECRET"},
    )

    assert invalid.returncode == 2
    assert invalid.stdout == ""
    message = invalid.stderr
    assert message.startswith("stepline: error: bad.json: ")
    assert (
        "/Connections/0/AuthParameters/InvocationHttpParameters/HeaderParameters/0/Key" in message
    )
    assert unset.returncode == 2
    assert "SLACK_SIGNING_SECRET" in unset.stderr
    assert str(CONNECTIONS) in unset.stderr
    assert "/Connections/1/AuthParameters/ApiKeyAuthParameters/ApiKeyValue" in unset.stderr
    assert_no_secret(apis, invalid.stdout, invalid.stderr, unset.stdout, unset.stderr)
