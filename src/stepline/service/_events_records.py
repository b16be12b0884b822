"""Connection records on disk: ``connections.json`` in the data directory, no secrets in it.

:class:`~stepline.connections.Connections` keeps its records in memory and the secrets in the
encrypted secret store of the data directory. This module writes the records (every field of a
:class:`~stepline.connections.ConnectionRecord`, none of which can hold a secret value) to a
JSON file after each change made through the ``events`` API, and loads them back when the
service starts, so that a restarted server knows its connections again and finds their secrets
under the same ``SecretArn``.
"""

from __future__ import annotations

import logging
from dataclasses import asdict
from pathlib import Path
from typing import Any, Final

from stepline.connections import (
    ApiKeyAuth,
    BasicAuth,
    ConnectionLimits,
    ConnectionRecord,
    Connections,
    HttpParameter,
    HttpParameters,
    OAuthClientCredentials,
    PrivateResource,
    TlsSettings,
)
from stepline.connections._model import AuthParameters
from stepline.service._events_files import RecordsFileError, read_json_file, write_json_file

__all__ = ["CONNECTIONS_FILE", "ConnectionRecordsFile", "decode_record", "encode_record"]

CONNECTIONS_FILE: Final = "connections.json"
_FORMAT: Final = 1
_WHAT: Final = "connection records"

_log = logging.getLogger("stepline.service")


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


class ConnectionRecordsFile:
    """Keeps a :class:`Connections` registry's records in ``<directory>/connections.json``.

    Args:
        connections: The registry.
        directory: The data directory.
    """

    def __init__(self, connections: Connections, directory: Path) -> None:
        self._connections = connections
        self.path = directory / CONNECTIONS_FILE

    def load(self) -> int:
        """Load the saved records into the registry (nothing when there is no file).

        Returns:
            How many records were loaded.

        Raises:
            RecordsFileError: The file is unreadable or not a connection records file.
        """
        document = read_json_file(self.path, _WHAT)
        if document is None:
            return 0
        try:
            if document.get("format") != _FORMAT:
                raise ValueError(f"format {document.get('format')!r}")
            records = [decode_record(entry) for entry in document["connections"]]
            self._connections.load_records(records)
        except (AttributeError, KeyError, TypeError, ValueError) as exc:
            raise RecordsFileError(
                f"The connection records file {self.path} is not one this version of stepline "
                f"wrote ({type(exc).__name__}: {exc}); restore it from a backup, or move it "
                "away to start without connections (their secrets stay in the secret store)."
            ) from None
        if records:
            _log.info("Loaded %d connection(s) from %s", len(records), self.path)
        return len(records)

    def save(self) -> None:
        """Write every record of the registry (atomically, mode 0600)."""
        records = [encode_record(record) for record in self._connections.records()]
        write_json_file(
            self.path,
            {
                "format": _FORMAT,
                "region": self._connections.region,
                "account": self._connections.account,
                "connections": records,
            },
        )
