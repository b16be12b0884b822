"""Record + decrypted secrets (+ OAuth token) → :class:`ResolvedConnection`, for one request.

This is the only place where a connection's secret mapping turns into request material:
``Authorization: Basic …``, the API key header, ``Authorization: Bearer …`` and the secret
invocation parameters, each wrapped in :class:`~stepline._secret.Secret`.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping

from stepline._secret import Secret
from stepline.asl._errors import StatesError
from stepline.connections._errors import INTERNAL_ERROR
from stepline.connections._model import (
    API_KEY_SECRET,
    CLIENT_KEY_SECRET,
    PARAMETER_LISTS,
    PASSWORD_SECRET,
    ApiKeyAuth,
    BasicAuth,
    ConnectionRecord,
    HttpParameter,
    parameter_secret_name,
)
from stepline.connections._resolved import InvocationParameter, ResolvedConnection
from stepline.connections._tokens import TokenOutcome
from stepline.egress._messages import TlsOptions

__all__ = ["build_resolved", "tls_options"]


def _need(secrets: Mapping[str, Secret], name: str, record: ConnectionRecord) -> Secret:
    value = secrets.get(name)
    if value is None:
        raise StatesError(
            INTERNAL_ERROR,
            f"The stored credentials of connection {record.arn} lack the value {name!r}: the "
            "secret was altered outside stepline. Update the connection with its credentials.",
        )
    return value


def tls_options(record: ConnectionRecord, secrets: Mapping[str, Secret]) -> TlsOptions | None:
    """The connection's TLS extension as transport options (client key from the secrets)."""
    tls = record.tls
    if tls is None:
        return None
    key = _need(secrets, CLIENT_KEY_SECRET, record) if tls.has_client_key else None
    return TlsOptions(tls.ca_bundle_pem, tls.client_cert_pem, key)


def _parameters(
    record: ConnectionRecord,
    entries: tuple[HttpParameter, ...],
    list_name: str,
    secrets: Mapping[str, Secret],
) -> tuple[InvocationParameter, ...]:
    resolved: list[InvocationParameter] = []
    for index, entry in enumerate(entries):
        if entry.value is not None:
            resolved.append(InvocationParameter(entry.key, entry.value))
        else:
            name = parameter_secret_name("invocation", list_name, index)
            resolved.append(InvocationParameter(entry.key, _need(secrets, name, record)))
    return tuple(resolved)


def build_resolved(
    record: ConnectionRecord,
    secrets: Mapping[str, Secret],
    token: TokenOutcome | None,
) -> ResolvedConnection:
    """The resolved connection.

    Args:
        record: The connection.
        secrets: Its decrypted secret mapping.
        token: For OAuth connections, the token to send and its generation.
    """
    auth = record.auth
    if isinstance(auth, BasicAuth):
        password = _need(secrets, PASSWORD_SECRET, record).reveal()
        encoded = base64.b64encode(f"{auth.username}:{password}".encode()).decode("ascii")
        authorization = (InvocationParameter("Authorization", Secret(f"Basic {encoded}")),)
    elif isinstance(auth, ApiKeyAuth):
        authorization = (
            InvocationParameter(auth.api_key_name, _need(secrets, API_KEY_SECRET, record)),
        )
    else:
        assert token is not None and token.token is not None
        bearer = Secret(f"Bearer {token.token.access_token.reveal()}")
        authorization = (InvocationParameter("Authorization", bearer),)
    invocation = record.invocation_http_parameters
    headers, query, body = (
        _parameters(record, invocation.by_list(list_name), list_name, secrets)
        for list_name in PARAMETER_LISTS
    )
    return ResolvedConnection(
        arn=record.arn,
        name=record.name,
        authorization=authorization,
        headers=headers,
        query=query,
        body=body,
        tls=tls_options(record, secrets),
        limits=record.limits,
        oauth_generation=None if token is None else token.generation,
    )
