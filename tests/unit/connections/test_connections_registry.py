"""The registry's control plane: CRUD, pagination, states, and that no response holds a secret."""

from __future__ import annotations

import asyncio
import json
import re
from typing import Any

import pytest

import stepline.connections as connections_api
from stepline.asl._errors import StatesError
from stepline.connections import (
    ConnectionAlreadyExists,
    ConnectionLimitExceeded,
    ConnectionNotFound,
    Connections,
    ConnectionValidationError,
    InMemorySecretStore,
    InvalidPaginationToken,
    Secret,
    SecretCipher,
)

PASSWORD = "pw-Zq81-unique"
API_KEY = "sk_live_Zq81_unique"
CLIENT_SECRET = "cs-Zq81-unique"
HIDDEN_HEADER = "hidden-header-Zq81"
HIDDEN_BODY = "hidden-body-Zq81"
SECRETS = (PASSWORD, API_KEY, CLIENT_SECRET, HIDDEN_HEADER, HIDDEN_BODY)
ARN = re.compile(
    r"arn:aws:events:us-east-1:123456789012:connection/[\w.\-]+/"
    r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
)
SECRET_ARN = re.compile(
    r"arn:aws:secretsmanager:us-east-1:123456789012:secret:events!connection/[\w.\-]+/"
    r"[0-9a-f\-]{36}-[A-Za-z0-9]{6}"
)


class Clock:
    def __init__(self) -> None:
        self.now = 1_700_000_000.0

    def __call__(self) -> float:
        return self.now


def assert_no_secret(value: object) -> None:
    text = repr(value) + json.dumps(value, default=str)
    for secret in SECRETS:
        assert secret not in text


INVOCATION = {
    "HeaderParameters": [
        {"Key": "X-Hidden", "Value": HIDDEN_HEADER, "IsValueSecret": True},
        {"Key": "X-Visible", "Value": "shown", "IsValueSecret": False},
    ],
    "BodyParameters": [{"Key": "hidden", "Value": HIDDEN_BODY}],  # IsValueSecret defaults true
}


def make_all(connections: Connections) -> dict[str, str]:
    return {
        "basic": connections.create_basic(
            "basic", "user", PASSWORD, invocation_parameters=INVOCATION
        ),
        "key": connections.create_api_key("key", "X-Api-Key", Secret(API_KEY)),
        "oauth": connections.create_oauth_client_credentials(
            "oauth",
            "https://idp.example.com/token",
            "client",
            CLIENT_SECRET,
            oauth_parameters={"BodyParameters": [{"Key": "scope", "Value": HIDDEN_BODY}]},
        ),
    }


def test_create_response_and_arns() -> None:
    clock = Clock()
    connections = Connections(clock=clock)
    response = connections.create(
        {
            "Name": "shop",
            "AuthorizationType": "BASIC",
            "AuthParameters": {"BasicAuthParameters": {"Username": "u", "Password": PASSWORD}},
        }
    )
    assert set(response) == {"ConnectionArn", "ConnectionState", "CreationTime", "LastModifiedTime"}
    assert ARN.fullmatch(response["ConnectionArn"])
    assert response["ConnectionState"] == "AUTHORIZED"
    assert response["CreationTime"].timestamp() == clock.now
    described = connections.describe("shop")
    assert SECRET_ARN.fullmatch(described["SecretArn"])
    assert described["LastAuthorizedTime"].timestamp() == clock.now


def test_describe_list_and_every_response_hold_no_secret() -> None:
    connections = Connections()
    arns = make_all(connections)
    responses: list[Any] = [connections.describe(name) for name in arns]
    responses.append(connections.list())
    responses.append(connections.get("basic"))
    responses.append(connections)
    responses.append(connections.update({"Name": "key", "Description": "d"}))
    responses.append(connections.deauthorize("basic"))
    responses.append(connections.delete("oauth"))
    for response in responses:
        assert_no_secret(response)


def test_describe_shapes() -> None:
    connections = Connections()
    make_all(connections)
    basic = connections.describe("basic")
    assert basic["AuthParameters"]["BasicAuthParameters"] == {"Username": "user"}
    assert basic["AuthParameters"]["InvocationHttpParameters"] == {
        "HeaderParameters": [
            {"Key": "X-Hidden", "IsValueSecret": True},
            {"Key": "X-Visible", "Value": "shown", "IsValueSecret": False},
        ],
        "BodyParameters": [{"Key": "hidden", "IsValueSecret": True}],
    }
    key = connections.describe("key")
    assert key["AuthParameters"] == {"ApiKeyAuthParameters": {"ApiKeyName": "X-Api-Key"}}
    oauth = connections.describe("oauth")
    assert oauth["ConnectionState"] == "AUTHORIZING"
    assert "LastAuthorizedTime" not in oauth
    assert oauth["AuthParameters"]["OAuthParameters"] == {
        "ClientParameters": {"ClientID": "client"},
        "AuthorizationEndpoint": "https://idp.example.com/token",
        "HttpMethod": "POST",
        "OAuthHttpParameters": {"BodyParameters": [{"Key": "scope", "IsValueSecret": True}]},
    }


def test_duplicate_name_and_unknown_name() -> None:
    connections = Connections()
    connections.create_basic("shop", "u", "p")
    with pytest.raises(ConnectionAlreadyExists) as caught:
        connections.create_basic("shop", "u", "p")
    assert caught.value.code == "ResourceAlreadyExistsException"
    assert "'shop'" in caught.value.message
    for call in (connections.describe, connections.delete, connections.deauthorize):
        with pytest.raises(ConnectionNotFound) as missing:
            call("nope")
        assert missing.value.code == "ResourceNotFoundException"
    with pytest.raises(ConnectionNotFound):
        connections.update({"Name": "nope"})


def test_limit_exceeded() -> None:
    connections = Connections(max_connections=1)
    connections.create_basic("a", "u", "p")
    with pytest.raises(ConnectionLimitExceeded) as caught:
        connections.create_basic("b", "u", "p")
    assert caught.value.code == "LimitExceededException"


def test_list_pagination_and_filters() -> None:
    connections = Connections()
    for index in range(5):
        connections.create_basic(f"conn-{index}", "u", "p")
    connections.create_basic("other", "u", "p")
    connections.deauthorize("conn-3")
    names: list[str] = []
    request: dict[str, Any] = {"NamePrefix": "conn-", "Limit": 2}
    for _ in range(10):
        page = connections.list(request)
        assert len(page["Connections"]) <= 2
        names += [entry["Name"] for entry in page["Connections"]]
        if "NextToken" not in page:
            break
        request = {**request, "NextToken": page["NextToken"]}
    assert names == [f"conn-{i}" for i in range(5)]
    only = connections.list({"ConnectionState": "DEAUTHORIZED"})["Connections"]
    assert [entry["Name"] for entry in only] == ["conn-3"]
    assert only[0]["StateReason"]
    assert len(connections.list()["Connections"]) == 6
    assert "NextToken" not in connections.list()


def test_list_refuses_bad_tokens_and_limits() -> None:
    connections = Connections()
    for index in range(3):
        connections.create_basic(f"c{index}", "u", "p")
    token = connections.list({"Limit": 1})["NextToken"]
    for bad in ("garbage!!", "e30=", "x" * 2049):
        with pytest.raises(InvalidPaginationToken) as caught:
            connections.list({"NextToken": bad})
        assert caught.value.code == "InvalidToken"
    with pytest.raises(InvalidPaginationToken):
        connections.list({"NextToken": token, "NamePrefix": "c"})  # another query
    for limit in (0, 101, "5", True):
        with pytest.raises(ConnectionValidationError, match="Limit"):
            connections.list({"Limit": limit})
    with pytest.raises(ConnectionValidationError, match="ConnectionState"):
        connections.list({"ConnectionState": "READY"})


def test_partial_update_keeps_omitted_fields_and_secrets() -> None:
    clock = Clock()
    connections = Connections(clock=clock)
    arn = connections.create_basic(
        "shop", "user", PASSWORD, description="first", invocation_parameters=INVOCATION
    )
    clock.now += 10
    response = connections.update(
        {"Name": "shop", "AuthParameters": {"BasicAuthParameters": {"Username": "user2"}}}
    )
    assert response["ConnectionState"] == "AUTHORIZED"
    assert response["LastModifiedTime"].timestamp() == clock.now
    assert response["LastAuthorizedTime"].timestamp() == clock.now
    assert response["CreationTime"].timestamp() == clock.now - 10
    described = connections.describe("shop")
    assert described["Description"] == "first"
    assert described["AuthParameters"]["BasicAuthParameters"] == {"Username": "user2"}
    resolved = asyncio.run(connections.resolve(arn))
    assert resolved.headers[0].plaintext() == HIDDEN_HEADER
    authorization = resolved.authorization[0].plaintext()
    assert (
        authorization
        == "Basic " + __import__("base64").b64encode(f"user2:{PASSWORD}".encode()).decode()
    )


def test_update_replaces_a_sent_list_and_keeps_secret_values_by_key() -> None:
    connections = Connections()
    arn = connections.create_basic("shop", "u", "p", invocation_parameters=INVOCATION)
    connections.update(
        {
            "Name": "shop",
            "AuthParameters": {
                "InvocationHttpParameters": {
                    "HeaderParameters": [
                        {"Key": "X-New", "Value": "n", "IsValueSecret": False},
                        {"Key": "X-Hidden", "IsValueSecret": True},  # keep its stored value
                    ]
                }
            },
        }
    )
    resolved = asyncio.run(connections.resolve(arn))
    assert [(p.key, p.plaintext(), p.secret) for p in resolved.headers] == [
        ("X-New", "n", False),
        ("X-Hidden", HIDDEN_HEADER, True),
    ]
    assert [(p.key, p.plaintext()) for p in resolved.body] == [("hidden", HIDDEN_BODY)]


def test_update_can_change_the_authorization_type() -> None:
    connections = Connections()
    arn = connections.create_basic("shop", "u", "p")
    connections.update(
        {
            "Name": "shop",
            "AuthorizationType": "API_KEY",
            "AuthParameters": {"ApiKeyAuthParameters": {"ApiKeyName": "K", "ApiKeyValue": API_KEY}},
        }
    )
    resolved = asyncio.run(connections.resolve(arn))
    assert [(p.key, p.plaintext()) for p in resolved.authorization] == [("K", API_KEY)]
    assert connections.describe("shop")["AuthorizationType"] == "API_KEY"


def test_deauthorize_clears_secrets_and_update_reauthorizes() -> None:
    store = InMemorySecretStore(SecretCipher(SecretCipher.generate_key()))
    connections = Connections(secret_store=store)
    arn = connections.create_basic("shop", "u", PASSWORD)
    record = connections.get(arn)
    assert record is not None
    response = connections.deauthorize("shop")
    assert response["ConnectionState"] == "DEAUTHORIZING"
    assert connections.describe("shop")["ConnectionState"] == "DEAUTHORIZED"
    assert store.get(record.secret_arn) is None
    with pytest.raises(ConnectionValidationError, match="Password is required"):
        connections.update({"Name": "shop", "Description": "x"})
    connections.update(
        {"Name": "shop", "AuthParameters": {"BasicAuthParameters": {"Password": "new"}}}
    )
    assert connections.describe("shop")["ConnectionState"] == "AUTHORIZED"
    assert "StateReason" not in connections.describe("shop")
    assert asyncio.run(connections.resolve(arn)).authorization[0].secret


def test_delete_removes_record_secret_and_arn() -> None:
    store = InMemorySecretStore(SecretCipher(SecretCipher.generate_key()))
    connections = Connections(secret_store=store)
    arn = connections.create_basic("shop", "u", "p")
    record = connections.get("shop")
    assert record is not None
    assert connections.delete("shop")["ConnectionState"] == "DELETING"
    assert store.get(record.secret_arn) is None
    assert connections.get(arn) is None and connections.get("shop") is None
    new_arn = connections.create_basic("shop", "u", "p")
    assert new_arn != arn
    with pytest.raises(StatesError) as caught:
        asyncio.run(connections.resolve(arn))  # the old ARN is not the new connection
    assert caught.value.error == "Events.ConnectionResource.ResourceNotFound"


def test_get_by_arn_or_name() -> None:
    connections = Connections()
    arn = connections.create_basic("shop", "u", "p")
    by_arn = connections.get(arn)
    assert by_arn is not None and by_arn.name == "shop"
    assert connections.get("shop") == by_arn
    assert connections.get(arn.replace("us-east-1", "eu-west-1")) is None
    assert connections.get("arn:aws:events:bad") is None


def test_private_connectivity_gives_active_and_an_association() -> None:
    connections = Connections()
    configuration = (
        "arn:aws:vpc-lattice:us-east-1:123456789012:resourceconfiguration/rcfg-0123456789abcdef0"
    )
    response = connections.create(
        {
            "Name": "private",
            "AuthorizationType": "API_KEY",
            "AuthParameters": {"ApiKeyAuthParameters": {"ApiKeyName": "K", "ApiKeyValue": "V"}},
            "InvocationConnectivityParameters": {
                "ResourceParameters": {"ResourceConfigurationArn": configuration}
            },
        }
    )
    assert response["ConnectionState"] == "ACTIVE"
    resource = connections.describe("private")["InvocationConnectivityParameters"][
        "ResourceParameters"
    ]
    assert resource["ResourceConfigurationArn"] == configuration
    assert re.fullmatch(
        r"arn:aws:vpc-lattice:us-east-1:123456789012:servicenetworkresourceassociation/"
        r"snra-[0-9a-z]{17}",
        resource["ResourceAssociationArn"],
    )


def test_constructor_refuses_bad_region_and_account() -> None:
    with pytest.raises(ValueError, match="region"):
        Connections(region="moon")
    with pytest.raises(ValueError, match="12 digits"):
        Connections(account="42")


def test_public_api_is_curated() -> None:
    assert set(connections_api.__all__) >= {
        "Connections",
        "SecretCipher",
        "SecretStore",
        "InMemorySecretStore",
        "FileSecretStore",
        "load_or_create_key",
        "ConnectionRecord",
        "ConnectionsError",
        "ResolvedConnection",
        "InvocationParameter",
        "ConnectionLimits",
    }
    for name in connections_api.__all__:
        assert hasattr(connections_api, name)


def test_secret_arn_for_the_permission_check() -> None:
    connections = Connections()
    arn = connections.create_basic("shop", "u", "p")
    assert SECRET_ARN.fullmatch(connections.secret_arn(arn) or "")
    assert connections.secret_arn(arn.replace("shop", "gone")) is None


# ------------------------------------------------------------ extension: a chosen ARN


AWS_ARN = (
    "arn:aws:events:us-east-1:123456789012:connection/Shop/0f1e2d3c-aaaa-bbbb-cccc-1234567890ab"
)


def test_a_connection_can_answer_to_the_arn_a_definition_names() -> None:
    registry = Connections()
    arn = registry.create_api_key("Shop", "X-Api-Key", API_KEY, connection_arn=AWS_ARN)
    assert arn == AWS_ARN
    assert registry.describe("Shop")["ConnectionArn"] == AWS_ARN
    resolved = asyncio.run(registry.resolve(AWS_ARN))
    assert [p.key for p in resolved.authorization] == ["X-Api-Key"]


@pytest.mark.parametrize(
    "arn",
    [
        "arn:aws:events:eu-west-1:123456789012:connection/Shop/abc",  # another Region
        "arn:aws:events:us-east-1:999999999999:connection/Shop/abc",  # another account
        "arn:aws:events:us-east-1:123456789012:connection/Other/abc",  # another name
        "not an arn",
    ],
)
def test_a_chosen_arn_must_fit_the_registry_and_the_name(arn: str) -> None:
    registry = Connections()
    with pytest.raises(ConnectionValidationError, match="connection_arn must be an ARN"):
        registry.create_api_key("Shop", "X-Api-Key", API_KEY, connection_arn=arn)
    assert registry.list()["Connections"] == []


def test_a_chosen_arn_can_be_used_again_after_delete() -> None:
    registry = Connections()
    registry.create_api_key("Shop", "X-Api-Key", API_KEY, connection_arn=AWS_ARN)
    registry.delete("Shop")
    assert registry.create_api_key("Shop", "X-Api-Key", "k2", connection_arn=AWS_ARN) == AWS_ARN
