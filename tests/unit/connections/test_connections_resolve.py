"""resolve(): the material for one request, and the errors the HTTP Task turns into ASL errors.

OAuth token requests go through ``stepline.egress.MockTransport`` here (the edge fake); the
real token server is in tests/integration/connections.
"""

from __future__ import annotations

import asyncio
import base64
import datetime
import json
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from stepline.asl._errors import StatesError
from stepline.connections import (
    ConnectionLimits,
    Connections,
    ConnectionValidationError,
    FileSecretStore,
    Secret,
    SecretCipher,
)
from stepline.egress import EgressFailed, HttpRequest, HttpResponse, MockTransport, TlsOptions

CLIENT_SECRET = "cs-Zq81-unique"
TOKEN = "tok-Zq81-unique"
NOT_FOUND = "Events.ConnectionResource.ResourceNotFound"
INVALID_STATE = "Events.ConnectionResource.InvalidConnectionState"


def resolve(connections: Connections, arn: str):  # type: ignore[no-untyped-def]
    return asyncio.run(connections.resolve(arn))


def states_error(connections: Connections, arn: str) -> StatesError:
    with pytest.raises(StatesError) as caught:
        resolve(connections, arn)
    return caught.value


def token_answer(status: int = 200, body: object | None = None) -> HttpResponse:
    document = {"access_token": TOKEN, "token_type": "Bearer"} if body is None else body
    return HttpResponse(
        status, "OK" if status == 200 else "Unauthorized", (), json.dumps(document).encode()
    )


def test_basic_authorization_header() -> None:
    connections = Connections()
    arn = connections.create_basic("shop", "Aladdin", "open sesame")
    resolved = resolve(connections, arn)
    assert resolved.arn == arn and resolved.name == "shop"
    [header] = resolved.authorization
    assert header.key == "Authorization" and header.secret
    assert header.plaintext() == "Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ=="
    assert "open sesame" not in repr(resolved)
    assert resolved.oauth_generation is None


def test_api_key_header_named_after_the_key_name() -> None:
    connections = Connections()
    arn = connections.create_api_key("k", "X-Api-Key", "sk_123")
    [header] = resolve(connections, arn).authorization
    assert (header.key, header.plaintext(), header.secret) == ("X-Api-Key", "sk_123", True)


def test_invocation_parameters_secret_and_plain() -> None:
    connections = Connections()
    arn = connections.create_api_key(
        "k",
        "K",
        "V",
        invocation_parameters={
            "HeaderParameters": [{"Key": "X-Plain", "Value": "p", "IsValueSecret": False}],
            "QueryStringParameters": [{"Key": "sig", "Value": "q-secret", "IsValueSecret": True}],
            "BodyParameters": [{"Key": "tenant", "Value": "t", "IsValueSecret": False}],
        },
    )
    resolved = resolve(connections, arn)
    assert [(p.key, p.value) for p in resolved.headers] == [("X-Plain", "p")]
    assert [(p.key, p.value) for p in resolved.query] == [("sig", Secret("q-secret"))]
    assert [(p.key, p.value) for p in resolved.body] == [("tenant", "t")]


def _certificate_and_key() -> tuple[str, str]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "client")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    return cert.public_bytes(serialization.Encoding.PEM).decode(), key_pem


def test_tls_and_limits_extensions_reach_the_resolved_connection(tmp_path: Path) -> None:
    cert, key = _certificate_and_key()
    store = FileSecretStore(tmp_path, SecretCipher(SecretCipher.generate_key()))
    connections = Connections(secret_store=store)
    limits = ConnectionLimits(rate_per_second=5, burst=10, max_concurrency=2)
    arn = connections.create_basic(
        "mtls",
        "u",
        "p",
        tls=TlsOptions(ca_bundle_pem=cert, client_cert_pem=cert, client_key_pem=Secret(key)),
        limits=limits,
    )
    resolved = resolve(connections, arn)
    assert resolved.limits == limits
    assert resolved.tls is not None
    assert resolved.tls.ca_bundle_pem == cert and resolved.tls.client_cert_pem == cert
    assert resolved.tls.client_key_pem == Secret(key)
    for file in tmp_path.iterdir():
        assert b"PRIVATE KEY" not in file.read_bytes()
    described = connections.describe("mtls")
    assert described["Stepline"]["Tls"]["HasClientKey"] is True
    assert "PRIVATE KEY" not in json.dumps(described, default=str)
    # The client key survives a deauthorization (it is not an authorization parameter).
    connections.deauthorize("mtls")
    connections.update(
        {"Name": "mtls", "AuthParameters": {"BasicAuthParameters": {"Password": "q"}}}
    )
    resolved = resolve(connections, arn)
    assert resolved.tls is not None and resolved.tls.client_key_pem == Secret(key)


def test_tls_key_must_match_the_certificate() -> None:
    cert, _ = _certificate_and_key()
    _, other_key = _certificate_and_key()
    with pytest.raises(ConnectionValidationError, match=r"^Stepline\.Tls\.ClientKeyPem does not"):
        Connections().create_basic(
            "x", "u", "p", tls=TlsOptions(client_cert_pem=cert, client_key_pem=Secret(other_key))
        )


@pytest.mark.parametrize(
    "arn", ["", "shop", "arn:aws:events:us-east-1:123456789012:rule/shop", "arn:aws:events:::"]
)
def test_malformed_arn(arn: str) -> None:
    error = states_error(Connections(), arn)
    assert error.error == NOT_FOUND
    assert "is not a connection ARN" in error.cause
    assert "arn:aws:events:<region>:<account>:connection/<name>/<id>" in error.cause


def test_unknown_connection() -> None:
    arn = (
        "arn:aws:events:us-east-1:123456789012:connection/ghost/"
        "00000000-0000-0000-0000-000000000000"
    )
    error = states_error(Connections(), arn)
    assert error.error == NOT_FOUND
    assert arn in error.cause and "ListConnections" in error.cause


def test_deauthorized_connection_names_state_reason_and_remedy() -> None:
    connections = Connections()
    arn = connections.create_basic("shop", "u", "p")
    connections.deauthorize("shop")
    error = states_error(connections, arn)
    assert error.error == INVALID_STATE
    assert "DEAUTHORIZED" in error.cause and "DeauthorizeConnection" in error.cause
    assert "UpdateConnection" in error.cause


def test_secret_deleted_from_the_store_deauthorizes(tmp_path: Path) -> None:
    store = FileSecretStore(tmp_path, SecretCipher(SecretCipher.generate_key()))
    connections = Connections(secret_store=store)
    arn = connections.create_basic("shop", "u", "p")
    record = connections.get(arn)
    assert record is not None
    store.delete(record.secret_arn)
    error = states_error(connections, arn)
    assert error.error == INVALID_STATE and "no longer exists" in error.cause
    described = connections.describe("shop")
    assert described["ConnectionState"] == "DEAUTHORIZED"
    assert "no longer exists" in described["StateReason"]


def test_secret_written_with_another_key_is_an_internal_error(tmp_path: Path) -> None:
    first = Connections(
        secret_store=FileSecretStore(tmp_path, SecretCipher(SecretCipher.generate_key()))
    )
    arn = first.create_basic("shop", "u", "p")
    record = first.get(arn)
    assert record is not None
    # Same directory, another key: as after losing the key file.
    first._store = FileSecretStore(tmp_path, SecretCipher(SecretCipher.generate_key()))  # type: ignore[attr-defined]
    error = states_error(first, arn)
    assert error.error == "Events.ConnectionResource.InternalError"
    assert "cannot be decrypted" in error.cause and "restore the key" in error.cause
    assert first.describe("shop")["ConnectionState"] == "AUTHORIZED"  # not the user's fault


def oauth_connections(handler) -> tuple[Connections, MockTransport, str]:  # type: ignore[no-untyped-def]
    transport = MockTransport(handler)
    connections = Connections(transport=transport)
    arn = connections.create_oauth_client_credentials(
        "idp", "https://idp.example.com/oauth/token?tenant=t1", "client", CLIENT_SECRET
    )
    return connections, transport, arn


def test_oauth_first_resolve_authorizes_and_sends_bearer() -> None:
    connections, transport, arn = oauth_connections(lambda request: token_answer())
    assert connections.describe("idp")["ConnectionState"] == "AUTHORIZING"
    resolved = resolve(connections, arn)
    assert [(p.key, p.plaintext()) for p in resolved.authorization] == [
        ("Authorization", f"Bearer {TOKEN}")
    ]
    assert resolved.oauth_generation is not None
    described = connections.describe("idp")
    assert described["ConnectionState"] == "AUTHORIZED" and "LastAuthorizedTime" in described
    resolve(connections, arn)
    assert len(transport.requests) == 1  # cached: no expires_in, so no expiry
    request = transport.requests[0]
    assert request.method == "POST"
    assert request.url == "https://idp.example.com/oauth/token?tenant=t1"
    assert (
        dict(request.headers)["Authorization"]
        == "Basic " + base64.b64encode(f"client:{CLIENT_SECRET}".encode()).decode()
    )


def test_oauth_failure_deauthorizes_with_a_safe_reason() -> None:
    def handler(request: HttpRequest) -> HttpResponse:
        return token_answer(401, {"error": "invalid_client", "error_description": CLIENT_SECRET})

    connections, _, arn = oauth_connections(handler)
    error = states_error(connections, arn)
    assert error.error == INVALID_STATE
    assert "answered 401" in error.cause and "invalid_client" in error.cause
    assert "https://idp.example.com/oauth/token" in error.cause and "tenant" not in error.cause
    assert CLIENT_SECRET not in error.cause
    described = connections.describe("idp")
    assert described["ConnectionState"] == "DEAUTHORIZED"
    assert "answered 401" in described["StateReason"]
    assert CLIENT_SECRET not in json.dumps(described, default=str)
    again = states_error(connections, arn)  # now simply not usable
    assert again.error == INVALID_STATE and "DEAUTHORIZED" in again.cause


def test_oauth_transport_failure_deauthorizes() -> None:
    def handler(request: HttpRequest) -> HttpResponse:
        raise EgressFailed("connection refused by https://idp.example.com:443")

    connections, _, arn = oauth_connections(handler)
    error = states_error(connections, arn)
    assert error.error == INVALID_STATE and "connection refused" in error.cause


def test_oauth_without_transport_is_explained() -> None:
    connections = Connections()
    arn = connections.create_oauth_client_credentials("idp", "https://idp.example.com/t", "c", "s")
    error = states_error(connections, arn)
    assert error.error == "Events.ConnectionResource.InternalError"
    assert "transport" in error.cause
    assert connections.describe("idp")["ConnectionState"] == "AUTHORIZING"


def test_authorize_now_and_update_reauthorizes() -> None:
    answers = [token_answer(), token_answer(500, {}), token_answer()]
    connections, transport, arn = oauth_connections(lambda request: answers.pop(0))
    described = asyncio.run(connections.authorize("idp"))
    assert described["ConnectionState"] == "AUTHORIZED"
    described = asyncio.run(connections.authorize("idp"))  # forced refresh fails
    assert described["ConnectionState"] == "DEAUTHORIZED"
    assert described["StateReason"].endswith("answered 500 Unauthorized")
    response = connections.update({"Name": "idp", "Description": "retry"})
    assert response["ConnectionState"] == "AUTHORIZING"
    assert resolve(connections, arn).authorization[0].plaintext() == f"Bearer {TOKEN}"
    assert len(transport.requests) == 3


def test_token_rejected_refreshes_only_the_current_generation() -> None:
    tokens = iter(f"t{i}" for i in range(1, 10))
    connections, transport, arn = oauth_connections(
        lambda request: token_answer(body={"access_token": next(tokens)})
    )
    first = resolve(connections, arn)
    asyncio.run(connections.token_rejected(arn, first.oauth_generation))
    second = resolve(connections, arn)
    assert second.authorization[0].plaintext() == "Bearer t2"
    asyncio.run(connections.token_rejected(arn, first.oauth_generation))  # stale: ignored
    assert resolve(connections, arn).authorization[0].plaintext() == "Bearer t2"
    assert len(transport.requests) == 2
    asyncio.run(connections.token_rejected(arn, None))  # non-OAuth callers pass None


def test_resolved_credentials_are_reused_until_the_connection_changes() -> None:
    connections = Connections()
    arn = connections.create_api_key("shop", "X-Api-Key", "key-one")
    first = asyncio.run(connections.resolve(arn))
    assert asyncio.run(connections.resolve(arn)) is first
    connections.update(
        {"Name": "shop", "AuthParameters": {"ApiKeyAuthParameters": {"ApiKeyValue": "key-two"}}}
    )
    second = asyncio.run(connections.resolve(arn))
    assert second is not first
    assert second.authorization[0].plaintext() == "key-two"


def test_reuse_can_be_turned_off() -> None:
    connections = Connections(resolved_ttl=0)
    arn = connections.create_api_key("shop", "X-Api-Key", "key-one")
    assert asyncio.run(connections.resolve(arn)) is not asyncio.run(connections.resolve(arn))
