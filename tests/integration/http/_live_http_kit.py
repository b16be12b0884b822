"""Shared helpers for the HTTP Task integration tests: seeds, connections, settings, history.

The seed workflows in ``examples/http`` run unchanged except for their endpoints, which
:func:`seed_definition` points at a :class:`~support.fake_apis.FakeApis` server; their
connections are created under the exact ARNs the seeds name (:func:`create_seed_connections`).
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterable, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

from stepline import ExecutionResult
from stepline.connections import ConnectionLimits, Connections
from stepline.egress import EgressSettings, TlsOptions, Transport
from stepline.policy import PolicyEnforcer
from stepline.tasks import HttpTask
from support.fake_apis import FakeApis

EXAMPLES = Path(__file__).resolve().parents[3] / "examples" / "http"
HTTP_INVOKE = "arn:aws:states:::http:invoke"
USER_AGENT = "Amazon|StepFunctions|HttpInvoke|us-east-1"

KEYGEN_ARN = (
    "arn:aws:events:us-east-1:123456789012:connection/Keygen/6f1c2a8e-1b7d-4c53-9a41-0d2f5e7b8c90"
)
SLACK_ARN = (
    "arn:aws:events:us-east-1:123456789012:connection/Slack/2b9e4d1a-7c3f-4e8a-b5d6-1f0a9c8e7d6b"
)
TWILIO_ARN = (
    "arn:aws:events:us-east-1:123456789012:connection/Twilio/9d8c7b6a-5f4e-4d3c-8b2a-1e0f9a8b7c6d"
)
# The real providers the seeds call; the tests point them at the fake server.
SEED_HOSTS = ("https://api.keygen.sh", "https://hooks.slack.com", "https://api.twilio.com")


def seed_text(name: str, base_url: str) -> str:
    """A seed definition's JSON text with every provider endpoint replaced by ``base_url``."""
    text = (EXAMPLES / name).read_text(encoding="utf-8")
    for host in SEED_HOSTS:
        text = text.replace(host, base_url)
    return text


def seed_definition(name: str, apis: FakeApis) -> dict[str, Any]:
    """A seed definition, parsed, with its endpoints pointed at ``apis``."""
    definition: dict[str, Any] = json.loads(seed_text(name, apis.base_url))
    return definition


def loopback_settings(**changes: Any) -> EgressSettings:
    """Egress settings that allow 127.0.0.0/8 (as ``STEPLINE_HTTP_ALLOW`` would), plus changes."""
    settings = EgressSettings.from_env({"STEPLINE_HTTP_ALLOW": "127.0.0.0/8"})
    return dataclasses.replace(settings, **changes) if changes else settings


def http_task(
    connections: Connections,
    *,
    settings: EgressSettings | None = None,
    policy: PolicyEnforcer | None = None,
    transport: Transport | None = None,
    honour_retry_after: bool = False,
) -> HttpTask:
    """An HTTP Task allowed to reach loopback (unless other ``settings`` are given)."""
    return HttpTask(
        connections,
        settings=settings if settings is not None else loopback_settings(),
        policy=policy,
        transport=transport,
        honour_retry_after=honour_retry_after,
    )


def create_seed_connections(
    connections: Connections, apis: FakeApis, *, limits: ConnectionLimits | None = None
) -> None:
    """Keygen (API key in ``Authorization``), Slack (signing-secret header) and Twilio (Basic),
    under the ARNs the seed workflows name."""
    secrets = apis.secrets
    connections.create_api_key(
        "Keygen",
        "Authorization",
        f"Bearer {secrets.license_key}",
        connection_arn=KEYGEN_ARN,
        limits=limits,
    )
    connections.create_api_key(
        "Slack", "X-Signing-Secret", secrets.webhook_signing, connection_arn=SLACK_ARN
    )
    connections.create_basic(
        "Twilio", secrets.sms_user, secrets.sms_password, connection_arn=TWILIO_ARN
    )


def create_payments_connection(
    connections: Connections,
    apis: FakeApis,
    *,
    name: str = "Payments",
    client_secret: str | None = None,
    tls: TlsOptions | None = None,
) -> str:
    """An OAuth client-credentials connection to the fake payments API; returns its ARN."""
    return connections.create_oauth_client_credentials(
        name,
        f"{apis.base_url}/oauth/token",
        apis.secrets.client_id,
        apis.secrets.client_secret if client_secret is None else client_secret,
        oauth_parameters={
            "BodyParameters": [{"Key": "scope", "Value": "charges:write", "IsValueSecret": False}]
        },
        tls=tls,
    )


def http_state(
    endpoint: str,
    connection_arn: str,
    *,
    method: str = "GET",
    **fields: Any,
) -> dict[str, Any]:
    """A JSONPath HTTP Task state calling ``endpoint`` through ``connection_arn``.

    ``parameters`` adds Parameters fields; other keyword arguments are state fields. The state
    ends the execution unless ``Next`` is given.
    """
    parameters: dict[str, Any] = {
        "ApiEndpoint": endpoint,
        "Method": method,
        "InvocationConfig": {"ConnectionArn": connection_arn},
    }
    parameters.update(fields.pop("parameters", {}))
    state: dict[str, Any] = {"Type": "Task", "Resource": HTTP_INVOKE, "Parameters": parameters}
    if "Next" not in fields:
        state["End"] = True
    state.update(fields)
    return state


def one_task(state: Mapping[str, Any], **extra_states: Any) -> dict[str, Any]:
    """A definition whose first state is ``state`` (named ``Call``), plus ``extra_states``."""
    return {"StartAt": "Call", "States": {"Call": dict(state), **extra_states}}


def charge_machine(apis: FakeApis, connection_arn: str) -> dict[str, Any]:
    """Charge ``$.amount`` through the payments API."""
    return one_task(
        http_state(
            f"{apis.base_url}/v1/charges",
            connection_arn,
            method="POST",
            parameters={"RequestBody": {"amount.$": "$.amount"}},
            ResultSelector={"paid.$": "$.ResponseBody.paid", "amount.$": "$.ResponseBody.amount"},
        )
    )


def events(result: ExecutionResult, *types: str) -> list[dict[str, Any]]:
    """The history events (botocore shape) of the given types, in order."""
    return [event for event in result.history_events() if event["type"] in types]


def details(event: Mapping[str, Any]) -> dict[str, Any]:
    """An event's ``...EventDetails`` member."""
    for key, value in event.items():
        if key.endswith("EventDetails"):
            return dict(value)
    return {}


def seconds_between(earlier: Mapping[str, Any], later: Mapping[str, Any]) -> float:
    """Virtual seconds between two events' timestamps."""
    start: datetime = earlier["timestamp"]
    end: datetime = later["timestamp"]
    return (end - start).total_seconds()


def retry_gaps(result: ExecutionResult) -> list[float]:
    """For every retry: seconds from a TaskFailed to the TaskScheduled that follows it."""
    history = result.history_events()
    gaps: list[float] = []
    for index, event in enumerate(history):
        if event["type"] != "TaskFailed":
            continue
        following = next(
            (later for later in history[index + 1 :] if later["type"] == "TaskScheduled"), None
        )
        if following is not None:
            gaps.append(seconds_between(event, following))
    return gaps


def dump_history(result: ExecutionResult) -> str:
    """The whole history as text (``json.dumps(default=str)``), for scanning."""
    return json.dumps(result.history_events(), default=str)


def request_bodies(recorded: Iterable[Any]) -> list[str]:
    """The bodies of recorded requests, as text."""
    return [item.text for item in recorded]
