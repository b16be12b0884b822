"""AWS-shaped CreateConnection requests for the convenience constructors.

``Connections.create_basic`` and friends build the same request a boto3 user would send, so that
every connection goes through one validation path.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from stepline._secret import Secret

__all__ = ["api_key_request", "basic_request", "oauth_request"]


def _base(
    name: str,
    authorization_type: str,
    description: str | None,
    invocation_parameters: Mapping[str, Any] | None,
) -> tuple[dict[str, Any], dict[str, Any]]:
    parameters: dict[str, Any] = {}
    if invocation_parameters is not None:
        parameters["InvocationHttpParameters"] = invocation_parameters
    request: dict[str, Any] = {
        "Name": name,
        "AuthorizationType": authorization_type,
        "AuthParameters": parameters,
    }
    if description is not None:
        request["Description"] = description
    return request, parameters


def basic_request(
    name: str,
    username: str,
    password: str | Secret,
    description: str | None,
    invocation_parameters: Mapping[str, Any] | None,
) -> dict[str, Any]:
    """A ``BASIC`` CreateConnection request."""
    request, parameters = _base(name, "BASIC", description, invocation_parameters)
    parameters["BasicAuthParameters"] = {"Username": username, "Password": password}
    return request


def api_key_request(
    name: str,
    key_name: str,
    key_value: str | Secret,
    description: str | None,
    invocation_parameters: Mapping[str, Any] | None,
) -> dict[str, Any]:
    """An ``API_KEY`` CreateConnection request."""
    request, parameters = _base(name, "API_KEY", description, invocation_parameters)
    parameters["ApiKeyAuthParameters"] = {"ApiKeyName": key_name, "ApiKeyValue": key_value}
    return request


def oauth_request(
    name: str,
    endpoint: str,
    client_id: str,
    client_secret: str | Secret,
    *,
    http_method: str,
    oauth_parameters: Mapping[str, Any] | None,
    description: str | None,
    invocation_parameters: Mapping[str, Any] | None,
) -> dict[str, Any]:
    """An ``OAUTH_CLIENT_CREDENTIALS`` CreateConnection request."""
    request, parameters = _base(
        name, "OAUTH_CLIENT_CREDENTIALS", description, invocation_parameters
    )
    oauth: dict[str, Any] = {
        "ClientParameters": {"ClientID": client_id, "ClientSecret": client_secret},
        "AuthorizationEndpoint": endpoint,
        "HttpMethod": http_method,
    }
    if oauth_parameters is not None:
        oauth["OAuthHttpParameters"] = oauth_parameters
    parameters["OAuthParameters"] = oauth
    return request
