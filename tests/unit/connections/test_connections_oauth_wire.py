"""The token request's wire format and the parsing of the token endpoint's answer."""

from __future__ import annotations

import base64
from urllib.parse import parse_qsl, urlsplit

import pytest

from stepline._secret import Secret
from stepline.connections._model import (
    CLIENT_SECRET_SECRET,
    HttpParameter,
    HttpParameters,
    OAuthClientCredentials,
    parameter_secret_name,
)
from stepline.connections._oauth import (
    TokenExchangeFailed,
    build_token_request,
    parse_token_response,
)
from stepline.egress import HttpResponse

SECRETS = {
    CLIENT_SECRET_SECRET: Secret("cs"),
    parameter_secret_name("oauth", "BodyParameters", 1): Secret("aud-secret"),
}
PARAMETERS = HttpParameters(
    header_parameters=(
        HttpParameter("X-Tenant", "t1", False),
        HttpParameter("accept", "application/vnd+json", False),
    ),
    query_string_parameters=(HttpParameter("q key", "a b", False),),
    body_parameters=(
        HttpParameter("scope", "read write", False),
        HttpParameter("audience", None, True),
        HttpParameter("grant_type", "client_credentials_custom", False),
    ),
)


def auth(method: str) -> OAuthClientCredentials:
    return OAuthClientCredentials("client", "https://idp.example.com/token?v=1", method, PARAMETERS)


@pytest.mark.parametrize("method", ["POST", "PUT"])
def test_post_and_put_send_a_form_body(method: str) -> None:
    request = build_token_request(auth(method), SECRETS)
    assert request.method == method
    headers = dict(request.headers)
    assert headers["Authorization"] == "Basic " + base64.b64encode(b"client:cs").decode()
    assert headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert headers["accept"] == "application/vnd+json"  # the connection's header wins
    assert "Accept" not in headers
    assert headers["X-Tenant"] == "t1"
    assert request.body is not None
    assert request.body.decode() == (
        "grant_type=client_credentials_custom&scope=read+write&audience=aud-secret"
    )
    assert request.url == "https://idp.example.com/token?v=1&q%20key=a%20b"


def test_get_puts_the_form_in_the_query_and_sends_no_body() -> None:
    request = build_token_request(auth("GET"), SECRETS)
    assert request.body is None
    assert "Content-Type" not in dict(request.headers)
    query = parse_qsl(urlsplit(request.url).query)
    assert query == [
        ("v", "1"),
        ("grant_type", "client_credentials_custom"),
        ("scope", "read write"),
        ("audience", "aud-secret"),
        ("q key", "a b"),
    ]


def test_default_grant_type_and_accept() -> None:
    plain = OAuthClientCredentials("c", "https://idp.example.com/token", "POST")
    request = build_token_request(plain, SECRETS)
    assert request.body == b"grant_type=client_credentials"
    assert dict(request.headers)["Accept"] == "application/json"
    assert request.url == "https://idp.example.com/token"


def answer(status: int, body: bytes, reason: str = "OK") -> HttpResponse:
    return HttpResponse(status, reason, (), body)


def test_token_with_expiry_in_seconds_or_numeric_string() -> None:
    token = parse_token_response(answer(200, b'{"access_token":"t","expires_in":3600}'), "u", 10)
    assert token.access_token == Secret("t") and token.expires_at == 3610
    token = parse_token_response(answer(200, b'{"access_token":"t","expires_in":"60"}'), "u", 10)
    assert token.expires_at == 70


def test_token_without_expiry_does_not_expire() -> None:
    token = parse_token_response(
        answer(200, b'{"access_token":"t","token_type":"bearer"}'), "u", 10
    )
    assert token.expires_at is None and token.token_type == "bearer"


@pytest.mark.parametrize(
    ("response", "expected"),
    [
        (answer(200, b"<html>tok-1</html>"), "not a JSON object"),
        (answer(200, b'{"token":"tok-1"}'), "without an access_token"),
        (answer(200, b'{"access_token":""}'), "without an access_token"),
        (
            answer(403, b'{"error":"unauthorized_client"}', "Forbidden"),
            'answered 403 Forbidden (OAuth error "unauthorized_client")',
        ),
        (answer(400, b'{"error":"tok-1 <script>"}', "Bad Request"), "answered 400 Bad Request"),
        (answer(302, b"", "Found"), "answered 302 Found"),
    ],
)
def test_failures_are_safe(response: HttpResponse, expected: str) -> None:
    with pytest.raises(TokenExchangeFailed) as caught:
        parse_token_response(response, "https://user:pw@idp.example.com:8443/token?key=k", 0)
    reason = caught.value.reason
    assert expected in reason
    assert "https://idp.example.com:8443/token" in reason
    assert "tok-1" not in reason and "pw" not in reason and "key=k" not in reason
