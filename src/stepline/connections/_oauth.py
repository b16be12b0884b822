"""The OAuth 2.0 client-credentials exchange, over the :class:`~stepline.egress.Transport` seam.

AWS does not document the wire format of EventBridge's token request. stepline sends what
RFC 6749 §4.4 describes and what token servers expect:

* method: the connection's ``HttpMethod`` (``GET``, ``POST`` or ``PUT``), to
  ``AuthorizationEndpoint`` (its own query string, if any, is kept);
* ``Authorization: Basic base64(ClientID:ClientSecret)`` — the raw values joined by a colon
  (neither may contain one), not form-encoded first;
* ``Accept: application/json``;
* ``grant_type=client_credentials`` followed by the connection's
  ``OAuthHttpParameters.BodyParameters`` (a body parameter with the same key — e.g. its own
  ``grant_type`` — replaces the default), form-encoded (``application/x-www-form-urlencoded``,
  spaces as ``+``) as the body for ``POST``/``PUT``; for ``GET`` the same pairs go into the query
  string and there is no body and no ``Content-Type``;
* ``OAuthHttpParameters.QueryStringParameters`` appended to the query string (spaces as ``%20``);
* ``OAuthHttpParameters.HeaderParameters`` added last; one with the same name (case-insensitive)
  as a default header replaces it — the connection's own values win.

The answer must be 2xx with a JSON object holding a non-empty string ``access_token``.
``expires_in`` (seconds, number or numeric string) is optional: without it the token is used
until a target answers 401/407 with it. ``token_type`` is recorded but the token is always sent
as ``Authorization: Bearer <access_token>``.

Failure reasons name the endpoint by scheme, host, port and path only, the status, and the
OAuth ``error`` code when the server sent a well-formed one; never a body, a header, a secret or
a token.
"""

from __future__ import annotations

import base64
import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final
from urllib.parse import quote, urlencode, urlsplit

from stepline._secret import Secret
from stepline.connections._model import (
    CLIENT_SECRET_SECRET,
    PARAMETER_LISTS,
    HttpParameter,
    OAuthClientCredentials,
    parameter_secret_name,
)
from stepline.egress._messages import (
    EgressError,
    EgressRefused,
    HttpRequest,
    HttpResponse,
    TlsOptions,
    Transport,
)

__all__ = [
    "OAuthToken",
    "TokenExchangeFailed",
    "build_token_request",
    "exchange_token",
    "parse_token_response",
    "safe_endpoint",
]

_FORM: Final = "application/x-www-form-urlencoded"
_OAUTH_ERROR_CODE: Final = re.compile(r"[a-z][a-z0-9_.\-]{0,63}")


@dataclass(frozen=True, slots=True)
class OAuthToken:
    """A cached access token.

    Attributes:
        access_token: The token (a secret).
        expires_at: When it expires (clock seconds); ``None`` when the server gave no
            ``expires_in``.
        token_type: The server's ``token_type``, if any.
    """

    access_token: Secret
    expires_at: float | None
    token_type: str | None = None


class TokenExchangeFailed(Exception):
    """The token request failed; :attr:`reason` is safe to show (no secret, no token).

    Args:
        reason: What happened, e.g. ``the authorization endpoint https://idp.example/token
            answered 401 Unauthorized (OAuth error "invalid_client")``.
    """

    def __init__(self, reason: str, *, refused: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.refused = refused


def safe_endpoint(url: str) -> str:
    """The URL without query string, fragment or user info: safe to show in a message."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    port = f":{parts.port}" if parts.port is not None else ""
    return f"{parts.scheme}://{host}{port}{parts.path}"


def _values(
    parameters: tuple[HttpParameter, ...],
    list_name: str,
    secrets: Mapping[str, Secret],
) -> list[tuple[str, str]]:
    pairs: list[tuple[str, str]] = []
    for index, parameter in enumerate(parameters):
        if parameter.value is not None:
            pairs.append((parameter.key, parameter.value))
        else:
            secret = secrets.get(parameter_secret_name("oauth", list_name, index))
            if secret is not None:
                pairs.append((parameter.key, secret.reveal()))
    return pairs


def build_token_request(
    auth: OAuthClientCredentials,
    secrets: Mapping[str, Secret],
    tls: TlsOptions | None = None,
) -> HttpRequest:
    """The token request for a connection (see the module docstring for the format).

    Args:
        auth: The connection's OAuth parameters.
        secrets: The connection's secret mapping (client secret, secret OAuth parameters).
        tls: The connection's TLS settings, applied to the token request too.
    """
    client_secret = secrets[CLIENT_SECRET_SECRET].reveal()
    credentials = base64.b64encode(f"{auth.client_id}:{client_secret}".encode()).decode("ascii")
    parameters = auth.oauth_http_parameters
    header_list, query_list, body_list = PARAMETER_LISTS

    form: dict[str, str] = {"grant_type": "client_credentials"}
    for key, value in _values(parameters.body_parameters, body_list, secrets):
        form[key] = value
    query = _values(parameters.query_string_parameters, query_list, secrets)

    body: bytes | None = None
    headers: dict[str, tuple[str, str]] = {
        "authorization": ("Authorization", f"Basic {credentials}"),
        "accept": ("Accept", "application/json"),
    }
    if auth.http_method == "GET":
        query = [*form.items(), *query]
    else:
        body = urlencode(list(form.items())).encode("ascii")
        headers["content-type"] = ("Content-Type", _FORM)
    for key, value in _values(parameters.header_parameters, header_list, secrets):
        headers[key.lower()] = (key, value)

    url = auth.authorization_endpoint
    if query:
        separator = "&" if "?" in url else "?"
        url = f"{url}{separator}{urlencode(query, quote_via=quote)}"
    return HttpRequest(
        method=auth.http_method,
        url=url,
        headers=tuple(headers.values()),
        body=body,
        tls=tls,
    )


def _expires_in(value: object) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, str):
        try:
            value = float(value.strip())
        except ValueError:
            return None
    if isinstance(value, int | float) and math.isfinite(value):
        return max(0.0, float(value))
    return None


def parse_token_response(response: HttpResponse, endpoint: str, now: float) -> OAuthToken:
    """Turn the token endpoint's answer into a token.

    Args:
        response: The answer.
        endpoint: The authorization endpoint (for messages; shown without its query).
        now: The current clock time, to turn ``expires_in`` into ``expires_at``.

    Raises:
        TokenExchangeFailed: Not 2xx, not a JSON object, or no ``access_token``.
    """
    where = f"the authorization endpoint {safe_endpoint(endpoint)}"
    try:
        document = json.loads(response.body)
    except (ValueError, UnicodeDecodeError):
        document = None
    if not 200 <= response.status < 300:
        detail = ""
        if isinstance(document, dict):
            code = document.get("error")
            if isinstance(code, str) and _OAUTH_ERROR_CODE.fullmatch(code):
                detail = f' (OAuth error "{code}")'
        reason = f" {response.reason}" if response.reason else ""
        raise TokenExchangeFailed(f"{where} answered {response.status}{reason}{detail}")
    if not isinstance(document, dict):
        raise TokenExchangeFailed(
            f"{where} answered {response.status} but its body is not a JSON object"
            + (" (it was cut off at the response size limit)" if response.truncated else "")
        )
    token = document.get("access_token")
    if not isinstance(token, str) or not token:
        raise TokenExchangeFailed(
            f"{where} answered {response.status} without an access_token string"
        )
    expires_in = _expires_in(document.get("expires_in"))
    token_type = document.get("token_type")
    return OAuthToken(
        access_token=Secret(token),
        expires_at=None if expires_in is None else now + expires_in,
        token_type=token_type if isinstance(token_type, str) else None,
    )


async def exchange_token(
    transport: Transport,
    auth: OAuthClientCredentials,
    secrets: Mapping[str, Secret],
    *,
    now: float,
    tls: TlsOptions | None = None,
    timeout: float | None = None,
) -> OAuthToken:
    """Request a token and parse the answer.

    Args:
        transport: Sends the request (egress rules apply).
        auth: The connection's OAuth parameters.
        secrets: The connection's secret mapping.
        now: Clock time when the request is sent (the expiry counts from here).
        tls: The connection's TLS settings.
        timeout: Seconds for the whole exchange.

    Raises:
        TokenExchangeFailed: Anything went wrong; the reason is safe to show.
    """
    request = build_token_request(auth, secrets, tls)
    try:
        response = await transport.send(request, timeout=timeout)
    except EgressError as error:
        # The reason is embedded mid-sentence by the caller: no full stop of its own.
        detail = str(error).rstrip(".")
        raise TokenExchangeFailed(
            f"the token request to {safe_endpoint(auth.authorization_endpoint)} failed: {detail}",
            refused=isinstance(error, EgressRefused),
        ) from None
    return parse_token_response(response, auth.authorization_endpoint, now)
