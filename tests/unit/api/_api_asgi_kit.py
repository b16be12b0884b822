"""Drives the stepline.api ASGI application in-process, the way uvicorn calls it.

Responses are parsed with botocore's own response parsers, so a test sees what boto3 would.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

from botocore.loaders import create_loader
from botocore.model import ServiceModel as BotocoreModel
from botocore.parsers import create_parser

BOTOCORE_NAMES = {"states": "stepfunctions", "events": "events", "iam": "iam"}
_MODELS: dict[str, BotocoreModel] = {}


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    body: bytes


def call(
    app: Any,
    *,
    method: str = "POST",
    path: str = "/",
    headers: dict[str, str] | None = None,
    body: bytes = b"",
    query_string: bytes = b"",
    chunk: int | None = None,
) -> Reply:
    """Send one request through the ASGI app and collect the response."""
    raw_headers = [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()]
    scope = {
        "type": "http",
        "method": method,
        "path": path,
        "raw_path": path.encode(),
        "query_string": query_string,
        "headers": raw_headers,
    }
    pieces = [body] if chunk is None else [body[i : i + chunk] for i in range(0, len(body), chunk)]
    pieces = pieces or [b""]
    messages = [
        {"type": "http.request", "body": piece, "more_body": index < len(pieces) - 1}
        for index, piece in enumerate(pieces)
    ]
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        if messages:
            return messages.pop(0)
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    asyncio.run(app(scope, receive, send))
    start = sent[0]
    return Reply(
        status=start["status"],
        headers={k.decode(): v.decode() for k, v in start["headers"]},
        body=b"".join(m.get("body", b"") for m in sent[1:]),
    )


def json_call(app: Any, target: str, body: bytes, **headers: str) -> Reply:
    version = "1.1" if target.startswith("AWSEvents.") else "1.0"
    all_headers = {"X-Amz-Target": target, "Content-Type": f"application/x-amz-json-{version}"}
    all_headers.update(headers)
    return call(app, headers=all_headers, body=body)


def botocore_model(service: str) -> BotocoreModel:
    if service not in _MODELS:
        name = BOTOCORE_NAMES[service]
        _MODELS[service] = BotocoreModel(
            create_loader().load_service_model(name, "service-2"), service_name=name
        )
    return _MODELS[service]


def parse(service: str, operation: str, reply: Reply) -> dict[str, Any]:
    """Parse a reply exactly as boto3 does (errors included)."""
    model = botocore_model(service)
    op = model.operation_model(operation)
    parser = create_parser(model.metadata["protocol"])
    return parser.parse(  # type: ignore[no-any-return]
        {"status_code": reply.status, "headers": reply.headers, "body": reply.body},
        op.output_shape,
    )
