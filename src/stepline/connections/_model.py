"""The connection record: everything EventBridge keeps about a connection, minus its secrets.

A :class:`ConnectionRecord` has no field that can hold a password, an API key value, a client
secret, a client key or a secret parameter value. Those live in the
:class:`~stepline.connections.SecretStore` under the record's ``secret_arn``, as a flat mapping
whose names are given by the ``*_SECRET`` constants and :func:`parameter_secret_name` below (the
layout of the managed secret is undocumented by AWS; this one is stepline's).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final

from stepline.connections._resolved import ConnectionLimits

__all__ = [
    "API_KEY",
    "API_KEY_SECRET",
    "AUTHORIZATION_TYPES",
    "BASIC",
    "CLIENT_KEY_SECRET",
    "CLIENT_SECRET_SECRET",
    "CONNECTION_ARN",
    "CONNECTION_STATES",
    "OAUTH_CLIENT_CREDENTIALS",
    "PARAMETER_LISTS",
    "PASSWORD_SECRET",
    "USABLE_STATES",
    "ApiKeyAuth",
    "AuthParameters",
    "BasicAuth",
    "ConnectionRecord",
    "HttpParameter",
    "HttpParameters",
    "OAuthClientCredentials",
    "PrivateResource",
    "TlsSettings",
    "parameter_secret_name",
    "partition_of",
]

BASIC: Final = "BASIC"
API_KEY: Final = "API_KEY"
OAUTH_CLIENT_CREDENTIALS: Final = "OAUTH_CLIENT_CREDENTIALS"
AUTHORIZATION_TYPES: Final = (BASIC, OAUTH_CLIENT_CREDENTIALS, API_KEY)

# A connection's ARN, with its parts named (the name is unique, the id only answers to it).
CONNECTION_ARN: Final = re.compile(
    r"arn:(?P<partition>aws[a-z\-]*):events:(?P<region>[a-z0-9\-]*):(?P<account>\d{12})?:"
    r"connection/(?P<name>[.\-_A-Za-z0-9]+)/(?P<id>[\-A-Za-z0-9]+)"
)

CONNECTION_STATES: Final = (
    "CREATING",
    "UPDATING",
    "DELETING",
    "AUTHORIZED",
    "DEAUTHORIZED",
    "AUTHORIZING",
    "DEAUTHORIZING",
    "ACTIVE",
    "FAILED_CONNECTIVITY",
)
# States in which an HTTP Task may use the connection (public: AUTHORIZED, private: ACTIVE).
USABLE_STATES: Final = frozenset({"AUTHORIZED", "ACTIVE"})

# The three parameter lists of a ConnectionHttpParameters structure, in AWS's order.
PARAMETER_LISTS: Final = ("HeaderParameters", "QueryStringParameters", "BodyParameters")

PASSWORD_SECRET: Final = "basic/password"
API_KEY_SECRET: Final = "api_key/value"
CLIENT_SECRET_SECRET: Final = "oauth/client_secret"
CLIENT_KEY_SECRET: Final = "tls/client_key"


def partition_of(region: str) -> str:
    """The AWS partition a Region belongs to (``aws-cn``, ``aws-us-gov``, else ``aws``)."""
    if region.startswith("cn-"):
        return "aws-cn"
    if region.startswith("us-gov-"):
        return "aws-us-gov"
    return "aws"


def parameter_secret_name(scope: str, list_name: str, index: int) -> str:
    """The secret-mapping name of a secret parameter value.

    Args:
        scope: ``"invocation"`` (InvocationHttpParameters) or ``"oauth"`` (OAuthHttpParameters).
        list_name: One of :data:`PARAMETER_LISTS`.
        index: The entry's position in its list.
    """
    return f"{scope}/{list_name}/{index}"


@dataclass(frozen=True, slots=True)
class HttpParameter:
    """One header, query-string or body parameter of a connection.

    Attributes:
        key: The parameter's key.
        value: The value when it is not secret; ``None`` when it is (it lives in the store).
        is_value_secret: The ``IsValueSecret`` flag.
    """

    key: str
    value: str | None
    is_value_secret: bool


@dataclass(frozen=True, slots=True)
class HttpParameters:
    """A ``ConnectionHttpParameters`` structure (invocation or OAuth token request).

    Attributes:
        header_parameters: ``HeaderParameters``.
        query_string_parameters: ``QueryStringParameters``.
        body_parameters: ``BodyParameters``.
    """

    header_parameters: tuple[HttpParameter, ...] = ()
    query_string_parameters: tuple[HttpParameter, ...] = ()
    body_parameters: tuple[HttpParameter, ...] = ()

    def by_list(self, list_name: str) -> tuple[HttpParameter, ...]:
        """The list named ``list_name`` (one of :data:`PARAMETER_LISTS`)."""
        if list_name == "HeaderParameters":
            return self.header_parameters
        if list_name == "QueryStringParameters":
            return self.query_string_parameters
        return self.body_parameters

    def __bool__(self) -> bool:
        return bool(self.header_parameters or self.query_string_parameters or self.body_parameters)


@dataclass(frozen=True, slots=True)
class BasicAuth:
    """``BASIC``: the user name; the password is in the store (:data:`PASSWORD_SECRET`)."""

    username: str


@dataclass(frozen=True, slots=True)
class ApiKeyAuth:
    """``API_KEY``: the header name; the key value is in the store (:data:`API_KEY_SECRET`)."""

    api_key_name: str


@dataclass(frozen=True, slots=True)
class OAuthClientCredentials:
    """``OAUTH_CLIENT_CREDENTIALS``, without the client secret (:data:`CLIENT_SECRET_SECRET`).

    Attributes:
        client_id: ``ClientParameters.ClientID``.
        authorization_endpoint: The token endpoint URL.
        http_method: ``GET``, ``POST`` or ``PUT``.
        oauth_http_parameters: Extra parameters sent with the token request.
    """

    client_id: str
    authorization_endpoint: str
    http_method: str
    oauth_http_parameters: HttpParameters = HttpParameters()


AuthParameters = BasicAuth | ApiKeyAuth | OAuthClientCredentials


@dataclass(frozen=True, slots=True)
class PrivateResource:
    """A private-connectivity target (VPC Lattice resource configuration).

    stepline records it and returns it from Describe; it does not route through it.

    Attributes:
        resource_configuration_arn: ``ResourceConfigurationArn`` as given.
        resource_association_arn: The association ARN Describe reports (generated).
    """

    resource_configuration_arn: str
    resource_association_arn: str


@dataclass(frozen=True, slots=True)
class TlsSettings:
    """Extension: per-connection TLS, without the client key (it is :data:`CLIENT_KEY_SECRET`).

    Attributes:
        ca_bundle_pem: Extra trusted certificate authorities (PEM).
        client_cert_pem: Client certificate chain for mutual TLS (PEM).
        has_client_key: True when a client key is stored with the secrets.
    """

    ca_bundle_pem: str | None = None
    client_cert_pem: str | None = None
    has_client_key: bool = False


@dataclass(frozen=True, slots=True)
class ConnectionRecord:
    """One connection as stored: every EventBridge attribute, no secret values.

    Attributes:
        name: ``Name``.
        arn: ``ConnectionArn``.
        secret_arn: ``SecretArn``; also the id of the connection's secret in the store.
        authorization_type: ``BASIC``, ``API_KEY`` or ``OAUTH_CLIENT_CREDENTIALS``.
        auth: The non-secret authorization parameters of that type.
        state: ``ConnectionState``.
        state_reason: ``StateReason`` (never contains a secret).
        description: ``Description``.
        kms_key_identifier: ``KmsKeyIdentifier`` (recorded; stepline encrypts with its own key).
        invocation_http_parameters: ``AuthParameters.InvocationHttpParameters``.
        connectivity_parameters: ``AuthParameters.ConnectivityParameters`` (private OAuth
            endpoint).
        invocation_connectivity_parameters: ``InvocationConnectivityParameters``.
        creation_time: ``CreationTime`` (seconds since the epoch).
        last_modified_time: ``LastModifiedTime``.
        last_authorized_time: ``LastAuthorizedTime``; ``None`` until first authorized.
        tls: Extension: per-connection TLS.
        limits: Extension: rate limit and concurrency cap.
        revision: Increases on every change of the record's configuration (create, update,
            deauthorize); authorization results for an older revision are discarded.
    """

    name: str
    arn: str
    secret_arn: str
    authorization_type: str
    auth: AuthParameters
    state: str
    state_reason: str | None = None
    description: str | None = None
    kms_key_identifier: str | None = None
    invocation_http_parameters: HttpParameters = HttpParameters()
    connectivity_parameters: PrivateResource | None = None
    invocation_connectivity_parameters: PrivateResource | None = None
    creation_time: float = 0.0
    last_modified_time: float = 0.0
    last_authorized_time: float | None = None
    tls: TlsSettings | None = None
    limits: ConnectionLimits | None = None
    revision: int = 1
