"""Shared builders for the HTTP Task unit tests (imported rootdir-style as ``_http_kit``)."""

from __future__ import annotations

from typing import Any

import pytest

from stepline._secret import Secret
from stepline.asl._errors import StatesError
from stepline.connections._resolved import InvocationParameter, ResolvedConnection
from stepline.tasks._http_request import PreparedRequest, build_request

ARN = "arn:aws:events:us-east-1:123456789012:connection/Shop/0f1e2d3c-aaaa-bbbb-cccc-1234567890ab"
ENDPOINT = "https://api.example.com/orders"
SERVICE = [
    ("User-Agent", "Amazon|StepFunctions|HttpInvoke|us-east-1"),
    ("Range", "bytes=0-262144"),
]


def connection(
    *,
    authorization: tuple[tuple[str, str], ...] = (),
    headers: tuple[tuple[str, str | Secret], ...] = (),
    query: tuple[tuple[str, str | Secret], ...] = (),
    body: tuple[tuple[str, str | Secret], ...] = (),
) -> ResolvedConnection:
    """A resolved connection; authorization values become secrets."""
    return ResolvedConnection(
        arn=ARN,
        name="Shop",
        authorization=tuple(InvocationParameter(k, Secret(v)) for k, v in authorization),
        headers=tuple(InvocationParameter(k, v) for k, v in headers),
        query=tuple(InvocationParameter(k, v) for k, v in query),
        body=tuple(InvocationParameter(k, v) for k, v in body),
    )


def params(**fields: Any) -> dict[str, Any]:
    """Minimal valid parameters, overridden by ``fields`` (a ``None`` value removes one)."""
    base: dict[str, Any] = {
        "ApiEndpoint": ENDPOINT,
        "Method": "GET",
        "InvocationConfig": {"ConnectionArn": ARN},
    }
    base.update(fields)
    return {key: value for key, value in base.items() if value is not None}


def build(
    parameters: Any, conn: ResolvedConnection | None = None, **options: Any
) -> PreparedRequest:
    return build_request(
        parameters,
        conn if conn is not None else connection(),
        region="us-east-1",
        state_name="Call API",
        **options,
    )


def runtime_cause(parameters: Any, conn: ResolvedConnection | None = None, **options: Any) -> str:
    """The cause of the States.Runtime error ``build`` raises; checks it names the state."""
    with pytest.raises(StatesError) as caught:
        build(parameters, conn, **options)
    assert caught.value.error == "States.Runtime"
    assert "'Call API'" in caught.value.cause
    return caught.value.cause
