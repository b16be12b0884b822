"""The seed workflows (examples/http), unchanged but for their endpoints, against fake APIs.

License flow (API key in ``Authorization``), SMS send (Basic auth, URL-encoded form, Retry with
full jitter) and the Slack notification (Pass → HTTP → Succeed), each checked on AWS's terms:
the result shape, the history events and what the server received.
"""

from __future__ import annotations

import base64
import json
from urllib.parse import parse_qs

from _live_http_kit import (
    KEYGEN_ARN,
    SLACK_ARN,
    TWILIO_ARN,
    USER_AGENT,
    create_seed_connections,
    details,
    events,
    http_task,
    retry_gaps,
    seed_definition,
)

from stepline import StateMachine, VirtualClock
from stepline.connections import Connections
from support.fake_apis import FakeApis


def _machine(name: str, apis: FakeApis) -> StateMachine:
    connections = Connections()
    create_seed_connections(connections, apis)
    return StateMachine(
        seed_definition(name, apis), http=http_task(connections), clock=VirtualClock()
    )


def test_license_flow_creates_fetches_and_sends(apis: FakeApis) -> None:
    machine = _machine("license-flow.json", apis)

    result = machine.run({"plan": "pro", "userId": "u-42"})

    assert result.status == "SUCCEEDED", result.cause
    output = result.output
    assert output["license"]["key"] == "KEY-PRO"
    assert output["license"]["id"].startswith("lic_")
    assert output["customer"] == {"email": "u-42@example.test"}
    assert output["notification"] == {"sent": "ok"}

    create = apis.recorded("/v1/accounts/acme/licenses")
    fetch = apis.recorded("/v1/accounts/acme/users/")
    assert len(create) == 1 and len(fetch) == 1
    sent = create[0]
    assert sent.method == "POST"
    assert sent.headers["Authorization"] == f"Bearer {apis.secrets.license_key}"
    assert sent.headers["User-Agent"] == USER_AGENT
    assert sent.headers["Range"] == "bytes=0-262144"
    assert sent.headers["Content-Type"] == "application/vnd.api+json"
    assert sent.headers["Accept"] == "application/vnd.api+json"
    assert sent.json() == {
        "data": {
            "type": "licenses",
            "attributes": {"name": "pro"},
            "relationships": {"user": {"data": {"type": "users", "id": "u-42"}}},
        }
    }
    lookup = fetch[0]
    assert (lookup.method, lookup.path, lookup.body) == ("GET", "/v1/accounts/acme/users/u-42", b"")
    assert "Content-Type" not in lookup.headers
    assert lookup.headers["Authorization"] == f"Bearer {apis.secrets.license_key}"
    (notify,) = apis.recorded("/services/")
    assert notify.headers["X-Signing-Secret"] == apis.secrets.webhook_signing
    assert notify.headers["Content-Type"] == "application/json; charset=UTF-8"
    assert notify.json() == {"text": "License KEY-PRO issued to u-42@example.test"}

    scheduled = [details(event) for event in events(result, "TaskScheduled")]
    assert [(d["resourceType"], d["resource"]) for d in scheduled] == [("http", "invoke")] * 3
    first = json.loads(scheduled[0]["parameters"])
    # AWS records the effective parameters: the connection by ARN, never its credentials.
    assert first["InvocationConfig"] == {"ConnectionArn": KEYGEN_ARN}
    assert first["RequestBody"]["data"]["attributes"] == {"name": "pro"}
    assert json.loads(scheduled[2]["parameters"])["InvocationConfig"]["ConnectionArn"] == SLACK_ARN
    succeeded = [json.loads(details(e)["output"]) for e in events(result, "TaskSucceeded")]
    assert [s["StatusCode"] for s in succeeded] == [201, 200, 200]
    assert [s["StatusText"] for s in succeeded] == ["Created", "OK", "OK"]
    assert succeeded[0]["Headers"]["content-type"] == ["application/vnd.api+json; charset=utf-8"]
    assert succeeded[2]["ResponseBody"] == "ok"


def test_license_flow_unknown_customer_is_caught_on_404(apis: FakeApis) -> None:
    machine = _machine("license-flow.json", apis)

    result = machine.run({"plan": "basic", "userId": "missing"})

    assert (result.status, result.error) == ("FAILED", "UnknownCustomer")
    assert result.cause == "The license was created but the customer could not be found."
    failed = [details(event) for event in events(result, "TaskFailed")]
    assert failed == [
        {
            "resourceType": "http",
            "resource": "invoke",
            "error": "States.Http.StatusCode.404",
            "cause": "Not Found",
        }
    ]
    entered = [details(e)["name"] for e in events(result, "TaskStateEntered", "FailStateEntered")]
    assert entered == ["CreateLicense", "FetchCustomer", "UnknownCustomer"]
    assert apis.recorded("/services/") == []


def test_sms_send_retries_with_full_jitter_and_form_body(apis: FakeApis) -> None:
    apis.sms_failures = 2
    machine = _machine("sms-send.json", apis)
    execution_input = {
        "accountSid": apis.secrets.sms_user,
        "to": "+15551234567",
        "message": "Your code is 123 & 456",
    }

    result = machine.run(execution_input)

    assert result.status == "SUCCEEDED", result.cause
    assert result.output["to"] == "+15551234567"
    assert result.output["body"] == "Your code is 123 & 456"
    assert result.output["sid"].startswith("SM")
    assert len(events(result, "TaskScheduled")) == 3
    failed = [details(event) for event in events(result, "TaskFailed")]
    assert [f["error"] for f in failed] == ["States.Http.StatusCode.503"] * 2
    assert [f["cause"] for f in failed] == ["Service Unavailable"] * 2
    # FULL jitter: each wait is somewhere in [0, IntervalSeconds * BackoffRate^(n-1)].
    gaps = retry_gaps(result)
    assert len(gaps) == 2
    assert 0 <= gaps[0] <= 1.0
    assert 0 <= gaps[1] <= 2.0

    sent = apis.recorded("/2010-04-01/")
    assert len(sent) == 3
    expected_auth = base64.b64encode(
        f"{apis.secrets.sms_user}:{apis.secrets.sms_password}".encode()
    ).decode()
    for attempt in sent:
        assert attempt.method == "POST"
        assert attempt.path == f"/2010-04-01/Accounts/{apis.secrets.sms_user}/Messages.json"
        assert attempt.headers["Authorization"] == f"Basic {expected_auth}"
        assert attempt.headers["Content-Type"] == "application/x-www-form-urlencoded"
        assert parse_qs(attempt.text, strict_parsing=True) == {
            "To": ["+15551234567"],
            "From": ["+15005550006"],
            "Body": ["Your code is 123 & 456"],
        }
    scheduled = json.loads(details(events(result, "TaskScheduled")[0])["parameters"])
    assert scheduled["Authentication"] == {"ConnectionArn": TWILIO_ARN}


def test_slack_notification_pass_http_succeed(apis: FakeApis) -> None:
    machine = _machine("slack-notify.json", apis)

    result = machine.run({"service": "billing", "status": "succeeded"})

    assert result.status == "SUCCEEDED", result.cause
    assert result.output["ResponseBody"] == "ok"
    assert result.output["StatusCode"] == 200
    assert result.output["StatusText"] == "OK"
    assert result.output["Headers"]["content-type"] == ["text/plain; charset=utf-8"]
    kinds = [
        event["type"] for event in result.history_events() if event["type"].endswith("StateEntered")
    ]
    assert kinds == ["PassStateEntered", "TaskStateEntered", "SucceedStateEntered"]
    (sent,) = apis.recorded("/services/T000/B000/hook")
    assert sent.json() == {"text": ":rocket: Deploy of billing finished: succeeded"}
    assert sent.headers["X-Signing-Secret"] == apis.secrets.webhook_signing
    assert sent.headers["User-Agent"] == USER_AGENT
