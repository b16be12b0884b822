"""The ``events`` connection operations of the real service, through boto3.

Every authorization type round-trips through Create/Describe/List/Update/Deauthorize/Delete;
errors come back with EventBridge's codes and statuses; no response body (read raw, before
boto3 parses it) ever contains a password, API key value, client secret or secret parameter
value; and connections survive a restart of a service on SQLite, secrets included.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from _service_kit import ServiceServer, config_for, unique
from botocore.exceptions import ClientError

from stepline.service import open_context
from stepline.service._events_files import RecordsFileError
from stepline.service._events_records import decode_record, encode_record
from stepline.service._shared_records import CONNECTIONS_FILE


class RawBodies:
    """Every raw HTTP response body a client received (before boto3 parsed it)."""

    def __init__(self, client: Any) -> None:
        self.bodies: list[bytes] = []
        client.meta.events.register("after-call", self._keep)

    def _keep(self, http_response: Any, **_: Any) -> None:
        self.bodies.append(http_response.content)

    def assert_free_of(self, *values: str) -> None:
        assert self.bodies, "no response was recorded"
        for body in self.bodies:
            for value in values:
                assert value.encode() not in body, "a secret value appeared in a response"


@pytest.fixture
def watched_events(service: ServiceServer) -> Iterator[tuple[Any, RawBodies]]:
    client = service.client("events")
    yield client, RawBodies(client)
    client.close()


def error_of(call: Callable[..., Any], **kwargs: Any) -> dict[str, Any]:
    with pytest.raises(ClientError) as caught:
        call(**kwargs)
    response: dict[str, Any] = caught.value.response
    return response


def test_api_key_connection_round_trip(watched_events: tuple[Any, RawBodies]) -> None:
    events, raw = watched_events
    key_value, header_secret = "key-" + secrets.token_hex(8), "hdr-" + secrets.token_hex(8)
    name = unique("apikey")
    created = events.create_connection(
        Name=name,
        Description="licensing API",
        AuthorizationType="API_KEY",
        AuthParameters={
            "ApiKeyAuthParameters": {"ApiKeyName": "Authorization", "ApiKeyValue": key_value},
            "InvocationHttpParameters": {
                "HeaderParameters": [
                    {"Key": "X-Tenant", "Value": "acme", "IsValueSecret": False},
                    {"Key": "X-Signing", "Value": header_secret, "IsValueSecret": True},
                ]
            },
        },
    )
    arn = created["ConnectionArn"]
    assert arn.startswith(f"arn:aws:events:us-east-1:123456789012:connection/{name}/")
    assert created["ConnectionState"] == "AUTHORIZED"
    described = events.describe_connection(Name=name)
    assert described["ConnectionArn"] == arn
    assert described["Description"] == "licensing API"
    assert described["AuthParameters"]["ApiKeyAuthParameters"] == {"ApiKeyName": "Authorization"}
    headers = described["AuthParameters"]["InvocationHttpParameters"]["HeaderParameters"]
    assert headers == [
        {"Key": "X-Tenant", "Value": "acme", "IsValueSecret": False},
        {"Key": "X-Signing", "IsValueSecret": True},
    ]
    assert described["SecretArn"].startswith("arn:aws:secretsmanager:us-east-1:123456789012:")
    assert described["CreationTime"].tzinfo is not None

    listed = events.list_connections(NamePrefix=name)["Connections"]
    assert [c["Name"] for c in listed] == [name]
    assert listed[0]["AuthorizationType"] == "API_KEY"

    updated = events.update_connection(Name=name, Description="licensing API v2")
    assert updated["ConnectionState"] == "AUTHORIZED"
    assert events.describe_connection(Name=name)["Description"] == "licensing API v2"

    deauthorized = events.deauthorize_connection(Name=name)
    assert deauthorized["ConnectionState"] == "DEAUTHORIZING"
    assert events.describe_connection(Name=name)["ConnectionState"] == "DEAUTHORIZED"

    deleted = events.delete_connection(Name=name)
    assert deleted["ConnectionState"] == "DELETING"
    assert error_of(events.describe_connection, Name=name)["Error"]["Code"] == (
        "ResourceNotFoundException"
    )
    raw.assert_free_of(key_value, header_secret)


def test_basic_and_oauth_connections_never_return_secrets(
    watched_events: tuple[Any, RawBodies],
) -> None:
    events, raw = watched_events
    password, client_secret = "pw-" + secrets.token_hex(8), "cs-" + secrets.token_hex(8)
    body_secret = "body-" + secrets.token_hex(8)
    basic, oauth = unique("basic"), unique("oauth")
    events.create_connection(
        Name=basic,
        AuthorizationType="BASIC",
        AuthParameters={"BasicAuthParameters": {"Username": "ops", "Password": password}},
    )
    created = events.create_connection(
        Name=oauth,
        AuthorizationType="OAUTH_CLIENT_CREDENTIALS",
        AuthParameters={
            "OAuthParameters": {
                "ClientParameters": {"ClientID": "client-1", "ClientSecret": client_secret},
                "AuthorizationEndpoint": "https://auth.example.com/oauth/token",
                "HttpMethod": "POST",
                "OAuthHttpParameters": {
                    "BodyParameters": [
                        {"Key": "audience", "Value": body_secret, "IsValueSecret": True}
                    ]
                },
            }
        },
    )
    # OAuth connections authorize on first use (no token request is made here).
    assert created["ConnectionState"] == "AUTHORIZING"
    assert events.describe_connection(Name=basic)["AuthParameters"]["BasicAuthParameters"] == {
        "Username": "ops"
    }
    oauth_params = events.describe_connection(Name=oauth)["AuthParameters"]["OAuthParameters"]
    assert oauth_params["ClientParameters"] == {"ClientID": "client-1"}
    assert oauth_params["OAuthHttpParameters"]["BodyParameters"] == [
        {"Key": "audience", "IsValueSecret": True}
    ]
    events.update_connection(
        Name=basic,
        AuthParameters={"BasicAuthParameters": {"Username": "ops2", "Password": password + "x"}},
    )
    events.list_connections()
    for name in (basic, oauth):
        events.delete_connection(Name=name)
    raw.assert_free_of(password, password + "x", client_secret, body_secret)


def test_errors_have_eventbridge_codes(service: ServiceServer) -> None:
    events = service.events
    name = unique("dup")
    params = {"BasicAuthParameters": {"Username": "u", "Password": "p"}}
    events.create_connection(Name=name, AuthorizationType="BASIC", AuthParameters=params)
    duplicate = error_of(
        events.create_connection, Name=name, AuthorizationType="BASIC", AuthParameters=params
    )
    assert duplicate["Error"]["Code"] == "ResourceAlreadyExistsException"
    assert duplicate["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert name in duplicate["Error"]["Message"]

    missing = error_of(events.update_connection, Name=unique("missing"), Description="x")
    assert missing["Error"]["Code"] == "ResourceNotFoundException"
    assert missing["ResponseMetadata"]["HTTPStatusCode"] == 400
    for call in (events.delete_connection, events.deauthorize_connection):
        assert error_of(call, Name=unique("missing"))["Error"]["Code"] == (
            "ResourceNotFoundException"
        )

    # The right parameters for another authorization type: the registry's own validation.
    wrong = error_of(
        events.create_connection,
        Name=unique("wrong"),
        AuthorizationType="API_KEY",
        AuthParameters=params,
    )
    assert wrong["Error"]["Code"] == "ValidationException"
    assert wrong["ResponseMetadata"]["HTTPStatusCode"] == 400

    token = error_of(events.list_connections, NextToken="not-a-token-we-issued")
    assert token["Error"]["Code"] == "InvalidToken"
    events.delete_connection(Name=name)


def test_list_connections_pages_and_filters(service: ServiceServer) -> None:
    events = service.events
    prefix = unique("page")
    params = {"ApiKeyAuthParameters": {"ApiKeyName": "k", "ApiKeyValue": "v"}}
    names = [f"{prefix}-{index}" for index in range(5)]
    for name in names:
        events.create_connection(Name=name, AuthorizationType="API_KEY", AuthParameters=params)
    events.deauthorize_connection(Name=names[0])
    seen: list[str] = []
    token: str | None = None
    for _ in range(10):
        page = events.list_connections(
            NamePrefix=prefix, Limit=2, **({"NextToken": token} if token else {})
        )
        seen.extend(c["Name"] for c in page["Connections"])
        token = page.get("NextToken")
        if token is None:
            break
    assert seen == sorted(names)
    deauthorized = events.list_connections(NamePrefix=prefix, ConnectionState="DEAUTHORIZED")
    assert [c["Name"] for c in deauthorized["Connections"]] == [names[0]]
    for name in names:
        events.delete_connection(Name=name)


def test_connections_survive_a_restart(
    serve_service: Callable[..., ServiceServer], tmp_path: Path
) -> None:
    key_value = "key-" + secrets.token_hex(8)
    params = {
        "ApiKeyAuthParameters": {"ApiKeyName": "x-api-key", "ApiKeyValue": key_value},
        "InvocationHttpParameters": {
            "QueryStringParameters": [{"Key": "tenant", "Value": "acme", "IsValueSecret": False}]
        },
    }
    first = serve_service("sqlite", directory=tmp_path)
    arn = first.events.create_connection(
        Name="kept", AuthorizationType="API_KEY", AuthParameters=params
    )["ConnectionArn"]
    first.events.create_connection(
        Name="gone",
        AuthorizationType="BASIC",
        AuthParameters={"BasicAuthParameters": {"Username": "u", "Password": "p"}},
    )
    first.events.delete_connection(Name="gone")
    before = first.events.describe_connection(Name="kept")
    first.stop()

    # Kept in the database (the secret as ciphertext), not in a records file.
    assert not (tmp_path / CONNECTIONS_FILE).exists()
    assert key_value.encode() not in (tmp_path / "stepline.db").read_bytes()

    second = serve_service("sqlite", directory=tmp_path)
    after = second.events.describe_connection(Name="kept")
    for field in ("ConnectionArn", "SecretArn", "ConnectionState", "AuthParameters"):
        assert after[field] == before[field]
    assert after["CreationTime"] == before["CreationTime"]
    assert [c["Name"] for c in second.events.list_connections()["Connections"]] == ["kept"]

    # The secret is found again under the same SecretArn: the HTTP Task can use it.
    resolved = second.call(lambda context: context.connections.resolve(arn))
    assert [parameter.plaintext() for parameter in resolved.authorization] == [key_value]


def test_memory_service_writes_no_records_file(
    serve_service: Callable[..., ServiceServer], tmp_path: Path
) -> None:
    server = serve_service("memory", directory=tmp_path)
    server.events.create_connection(
        Name="ephemeral",
        AuthorizationType="BASIC",
        AuthParameters={"BasicAuthParameters": {"Username": "u", "Password": "p"}},
    )
    assert not (tmp_path / CONNECTIONS_FILE).exists()


def test_records_codec_round_trips_every_field(service: ServiceServer) -> None:
    events = service.events
    name = unique("codec")
    events.create_connection(
        Name=name,
        AuthorizationType="OAUTH_CLIENT_CREDENTIALS",
        AuthParameters={
            "OAuthParameters": {
                "ClientParameters": {"ClientID": "id", "ClientSecret": "s"},
                "AuthorizationEndpoint": "https://auth.example.com/token",
                "HttpMethod": "GET",
                "OAuthHttpParameters": {
                    "QueryStringParameters": [{"Key": "a", "Value": "1", "IsValueSecret": False}]
                },
            },
            "InvocationHttpParameters": {
                "BodyParameters": [{"Key": "b", "Value": "2", "IsValueSecret": True}]
            },
        },
        InvocationConnectivityParameters={
            "ResourceParameters": {
                "ResourceConfigurationArn": (
                    "arn:aws:vpc-lattice:us-east-1:123456789012:resourceconfiguration/rcfg-0123456789abcdefg"
                )
            }
        },
    )
    record = service.context.connections.get(name)
    assert record is not None
    assert decode_record(encode_record(record)) == record
    events.delete_connection(Name=name)


def test_unreadable_records_file_stops_startup(tmp_path: Path) -> None:
    (tmp_path / CONNECTIONS_FILE).write_text('{"format": 1, "connections": [{"name": 3}]}')

    async def start() -> None:
        context = await open_context(config_for("sqlite", tmp_path))
        await context.store.close()

    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("STEPLINE_DATA_DIR", str(tmp_path))
        with pytest.raises(RecordsFileError, match=r"connections\.json.*move it away"):
            asyncio.run(start())
