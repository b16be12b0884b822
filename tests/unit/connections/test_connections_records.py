"""Connections.records / load_records: what the service saves and reloads after a restart."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from stepline.connections import Connections, FileSecretStore, SecretCipher


def test_reloaded_records_find_their_secrets(tmp_path: Path) -> None:
    cipher = SecretCipher(SecretCipher.generate_key())
    first = Connections(secret_store=FileSecretStore(tmp_path, cipher))
    arn = first.create_api_key("Keygen", "Authorization", "Bearer k-1")
    first.create_basic("Sms", "user", "pw")
    records = first.records()
    assert [r.name for r in records] == ["Keygen", "Sms"]

    second = Connections(secret_store=FileSecretStore(tmp_path, cipher))
    second.load_records(records)
    assert second.describe("Keygen") == first.describe("Keygen")
    assert second.get(arn) == first.get(arn)


def test_resolve_after_reload() -> None:
    connections = Connections()
    arn = connections.create_api_key("Keygen", "x-api-key", "k-2")
    asyncio.run(connections.resolve(arn))  # caches the resolved credentials
    connections.load_records(connections.records())  # wholesale replacement drops that cache
    resolved = asyncio.run(connections.resolve(arn))
    assert [p.plaintext() for p in resolved.authorization] == ["k-2"]


def test_duplicate_names_are_refused() -> None:
    connections = Connections()
    connections.create_basic("Sms", "user", "pw")
    record = connections.records()[0]
    with pytest.raises(ValueError, match="Two connection records"):
        connections.load_records([record, record])
    assert connections.records() == (record,)
