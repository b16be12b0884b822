"""Connection records as JSON documents, no secrets in them.

Every field of a :class:`~stepline.connections.ConnectionRecord` (none of which can hold a
secret value) as a JSON-ready dict and back: the form the store keeps (see
:mod:`stepline.service._shared_records`) and the one ``connections.json`` of earlier versions
held.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from stepline.connections import (
    ApiKeyAuth,
    BasicAuth,
    ConnectionLimits,
    ConnectionRecord,
    HttpParameter,
    HttpParameters,
    OAuthClientCredentials,
    PrivateResource,
    TlsSettings,
)
from stepline.connections._model import AuthParameters

__all__ = ["decode_record", "encode_record"]


def encode_record(record: ConnectionRecord) -> dict[str, Any]:
    """A record as a JSON-ready dict (the auth parameters tagged with their kind)."""
    document = asdict(record)
    auth = record.auth
    kind = (
        "basic"
        if isinstance(auth, BasicAuth)
        else "api_key"
        if isinstance(auth, ApiKeyAuth)
        else "oauth"
    )
    document["auth"] = {"kind": kind, **asdict(auth)}
    return document


def decode_record(document: dict[str, Any]) -> ConnectionRecord:
    """The record :func:`encode_record` wrote.

    Raises:
        KeyError, TypeError, ValueError: The document is not such a record.
    """
    fields = dict(document)
    fields["auth"] = _auth(fields["auth"])
    fields["invocation_http_parameters"] = _parameters(fields.get("invocation_http_parameters"))
    for name in ("connectivity_parameters", "invocation_connectivity_parameters"):
        if fields.get(name) is not None:
            fields[name] = PrivateResource(**fields[name])
    if fields.get("tls") is not None:
        fields["tls"] = TlsSettings(**fields["tls"])
    if fields.get("limits") is not None:
        fields["limits"] = ConnectionLimits(**fields["limits"])
    return ConnectionRecord(**fields)


def _auth(document: dict[str, Any]) -> AuthParameters:
    fields = dict(document)
    kind = fields.pop("kind")
    if kind == "basic":
        return BasicAuth(**fields)
    if kind == "api_key":
        return ApiKeyAuth(**fields)
    if kind == "oauth":
        fields["oauth_http_parameters"] = _parameters(fields.get("oauth_http_parameters"))
        return OAuthClientCredentials(**fields)
    raise ValueError(f"unknown authorization kind {kind!r}")


def _parameters(document: dict[str, Any] | None) -> HttpParameters:
    if not document:
        return HttpParameters()
    return HttpParameters(
        **{
            name: tuple(HttpParameter(**entry) for entry in entries)
            for name, entries in document.items()
        }
    )
