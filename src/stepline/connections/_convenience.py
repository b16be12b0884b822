"""Convenience constructors for library users: ``create_basic`` and friends.

They build the same AWS-shaped CreateConnection request a boto3 user would send (plus the
``Stepline`` extension block), so that every connection goes through one validation path.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

from stepline._secret import Secret
from stepline.connections._resolved import ConnectionLimits
from stepline.egress._messages import TlsOptions

__all__ = [
    "ConvenienceConstructors",
    "add_extensions",
    "api_key_request",
    "basic_request",
    "oauth_request",
]


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


def add_extensions(
    request: dict[str, Any], tls: TlsOptions | None, limits: ConnectionLimits | None
) -> dict[str, Any]:
    """Add the ``Stepline`` extension block (TLS, limits) to a request, when there is one."""
    extension: dict[str, Any] = {}
    if tls is not None:
        block: dict[str, Any] = {}
        if tls.ca_bundle_pem is not None:
            block["CaBundlePem"] = tls.ca_bundle_pem
        if tls.client_cert_pem is not None:
            block["ClientCertificatePem"] = tls.client_cert_pem
        if tls.client_key_pem is not None:
            block["ClientKeyPem"] = tls.client_key_pem
        extension["Tls"] = block
    if limits is not None:
        extension["Limits"] = {
            key: value
            for key, value in (
                ("RatePerSecond", limits.rate_per_second),
                ("Burst", limits.burst),
                ("MaxConcurrency", limits.max_concurrency),
            )
            if value is not None
        }
    if extension:
        request["Stepline"] = extension
    return request


class _Creates(Protocol):
    def create(
        self, request: Mapping[str, Any], *, connection_arn: str | None = None
    ) -> dict[str, Any]: ...


class ConvenienceConstructors:
    """``create_basic``, ``create_api_key``, ``create_oauth_client_credentials`` over ``create``."""

    __slots__ = ()

    def create_basic(
        self: _Creates,
        name: str,
        username: str,
        password: str | Secret,
        *,
        description: str | None = None,
        invocation_parameters: Mapping[str, Any] | None = None,
        tls: TlsOptions | None = None,
        limits: ConnectionLimits | None = None,
        connection_arn: str | None = None,
    ) -> str:
        """Create a ``BASIC`` connection; returns its ARN.

        Args:
            name: The connection name.
            username: The user name.
            password: The password (plain or :class:`Secret`).
            description: ``Description``.
            invocation_parameters: ``InvocationHttpParameters`` in AWS's shape
                (``{"HeaderParameters": [{"Key", "Value", "IsValueSecret"}], …}``).
            tls: Extension: CA bundle and client certificate/key.
            limits: Extension: rate limit and concurrency cap.
            connection_arn: Extension: the ARN to answer to (see :meth:`Connections.create`).
        """
        request = basic_request(name, username, password, description, invocation_parameters)
        created = self.create(add_extensions(request, tls, limits), connection_arn=connection_arn)
        return str(created["ConnectionArn"])

    def create_api_key(
        self: _Creates,
        name: str,
        key_name: str,
        key_value: str | Secret,
        *,
        description: str | None = None,
        invocation_parameters: Mapping[str, Any] | None = None,
        tls: TlsOptions | None = None,
        limits: ConnectionLimits | None = None,
        connection_arn: str | None = None,
    ) -> str:
        """Create an ``API_KEY`` connection (header ``key_name: key_value``); returns its ARN."""
        request = api_key_request(name, key_name, key_value, description, invocation_parameters)
        created = self.create(add_extensions(request, tls, limits), connection_arn=connection_arn)
        return str(created["ConnectionArn"])

    def create_oauth_client_credentials(
        self: _Creates,
        name: str,
        endpoint: str,
        client_id: str,
        client_secret: str | Secret,
        *,
        http_method: str = "POST",
        oauth_parameters: Mapping[str, Any] | None = None,
        description: str | None = None,
        invocation_parameters: Mapping[str, Any] | None = None,
        tls: TlsOptions | None = None,
        limits: ConnectionLimits | None = None,
        connection_arn: str | None = None,
    ) -> str:
        """Create an ``OAUTH_CLIENT_CREDENTIALS`` connection; returns its ARN.

        Args:
            name: The connection name.
            endpoint: ``AuthorizationEndpoint``, the token URL.
            client_id: ``ClientID``.
            client_secret: ``ClientSecret`` (plain or :class:`Secret`).
            http_method: ``GET``, ``POST`` or ``PUT``.
            oauth_parameters: ``OAuthHttpParameters`` in AWS's shape (e.g. a ``scope`` body
                parameter).
            description: ``Description``.
            invocation_parameters: ``InvocationHttpParameters`` in AWS's shape.
            tls: Extension: TLS for both the token endpoint and the target.
            limits: Extension: rate limit and concurrency cap.
            connection_arn: Extension: the ARN to answer to (see :meth:`Connections.create`).
        """
        request = oauth_request(
            name,
            endpoint,
            client_id,
            client_secret,
            http_method=http_method,
            oauth_parameters=oauth_parameters,
            description=description,
            invocation_parameters=invocation_parameters,
        )
        created = self.create(add_extensions(request, tls, limits), connection_arn=connection_arn)
        return str(created["ConnectionArn"])
