"""EventBridge connections: records, encrypted secrets, authorization and the OAuth token cache.

Only this package ever holds a plaintext credential, and only as a
:class:`~stepline._secret.Secret`: secrets are encrypted at rest (AES-256-GCM) in a
:class:`SecretStore`, and handed out inside a :class:`ResolvedConnection` at the moment of a
request.

Typical library use::

    from stepline.connections import Connections

    connections = Connections()
    arn = connections.create_api_key("Stripe", "Authorization", "Bearer sk_test_…")
"""

from __future__ import annotations

from stepline._secret import Secret
from stepline.connections._cipher import SecretCipher
from stepline.connections._errors import (
    ACCESS_DENIED,
    AUTH_IN_PROGRESS,
    CONCURRENT_MODIFICATION,
    INTERNAL_ERROR,
    INVALID_CONNECTION_STATE,
    INVALID_PRIVATE_CONNECTION_STATE,
    RESOURCE_NOT_FOUND,
    ConnectionAlreadyExists,
    ConnectionConflict,
    ConnectionLimitExceeded,
    ConnectionNotFound,
    ConnectionsError,
    ConnectionValidationError,
    InvalidPaginationToken,
    SecretDecryptError,
    SecretKeyError,
)
from stepline.connections._keyfile import KEY_ENV, default_data_dir, load_or_create_key
from stepline.connections._model import (
    ApiKeyAuth,
    BasicAuth,
    ConnectionRecord,
    HttpParameter,
    HttpParameters,
    OAuthClientCredentials,
    PrivateResource,
    TlsSettings,
)
from stepline.connections._registry import Connections
from stepline.connections._resolved import ConnectionLimits, InvocationParameter, ResolvedConnection
from stepline.connections._secrets import FileSecretStore, InMemorySecretStore, SecretStore

__all__ = [
    "ACCESS_DENIED",
    "AUTH_IN_PROGRESS",
    "CONCURRENT_MODIFICATION",
    "INTERNAL_ERROR",
    "INVALID_CONNECTION_STATE",
    "INVALID_PRIVATE_CONNECTION_STATE",
    "KEY_ENV",
    "RESOURCE_NOT_FOUND",
    "ApiKeyAuth",
    "BasicAuth",
    "ConnectionAlreadyExists",
    "ConnectionConflict",
    "ConnectionLimitExceeded",
    "ConnectionLimits",
    "ConnectionNotFound",
    "ConnectionRecord",
    "ConnectionValidationError",
    "Connections",
    "ConnectionsError",
    "FileSecretStore",
    "HttpParameter",
    "HttpParameters",
    "InMemorySecretStore",
    "InvalidPaginationToken",
    "InvocationParameter",
    "OAuthClientCredentials",
    "PrivateResource",
    "ResolvedConnection",
    "Secret",
    "SecretCipher",
    "SecretDecryptError",
    "SecretKeyError",
    "SecretStore",
    "TlsSettings",
    "default_data_dir",
    "load_or_create_key",
]
