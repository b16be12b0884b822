"""Connections and IAM roles kept in the store (issue #7): shared by every process on one
database, imported once from the records files of earlier versions, secrets still encrypted."""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable
from pathlib import Path

import orjson
import pytest
from _service_kit import ACCOUNT, REGION, ServiceServer
from botocore.exceptions import ClientError

from stepline.connections import Connections, FileSecretStore, SecretCipher, load_or_create_key
from stepline.policy import Roles
from stepline.service._events_records import encode_record
from stepline.service._shared_records import CONNECTIONS_FILE, IAM_FILE, records_of

TRUST = {
    "Version": "2012-10-17",
    "Statement": [
        {"Effect": "Allow", "Principal": {"Service": "states.amazonaws.com"}, "Action": "sts:*"}
    ],
}


def _api_key(value: str) -> dict[str, object]:
    return {"ApiKeyAuthParameters": {"ApiKeyName": "x-api-key", "ApiKeyValue": value}}


def _resolved_key(server: ServiceServer, arn: str) -> str:
    resolved = server.call(lambda context: context.connections.resolve(arn))
    return str(resolved.authorization[0].plaintext())


def test_two_processes_on_one_database_share_connections_and_roles(
    serve_service: Callable[..., ServiceServer], tmp_path: Path
) -> None:
    first = serve_service("sqlite", directory=tmp_path)
    second = serve_service("sqlite", directory=tmp_path)
    key = "key-" + secrets.token_hex(8)
    arn = first.events.create_connection(
        Name="shared", AuthorizationType="API_KEY", AuthParameters=_api_key(key)
    )["ConnectionArn"]
    # Seen at once by the other process (a miss looks in the store), secret included.
    assert second.events.describe_connection(Name="shared")["ConnectionArn"] == arn
    assert _resolved_key(second, arn) == key
    with pytest.raises(ClientError) as taken:
        second.events.create_connection(
            Name="shared", AuthorizationType="API_KEY", AuthParameters=_api_key("other")
        )
    assert taken.value.response["Error"]["Code"] == "ResourceAlreadyExistsException"

    # A change through the other process reaches the first one at its next refresh.
    newer = "key-" + secrets.token_hex(8)
    second.events.update_connection(Name="shared", AuthParameters=_api_key(newer))
    first.call(lambda context: records_of(context).refresh(force=True))
    assert _resolved_key(first, arn) == newer
    second.events.delete_connection(Name="shared")
    first.call(lambda context: records_of(context).refresh(force=True))
    assert first.context.connections.get("shared") is None

    first.iam.create_role(RoleName="Shared", AssumeRolePolicyDocument=json.dumps(TRUST))
    assert second.iam.get_role(RoleName="Shared")["Role"]["RoleName"] == "Shared"
    second.iam.put_role_policy(
        RoleName="Shared",
        PolicyName="p",
        PolicyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}],
            }
        ),
    )
    first.call(lambda context: records_of(context).refresh(force=True))
    assert first.iam.list_role_policies(RoleName="Shared")["PolicyNames"] == ["p"]
    # Both processes changed the IAM state; neither change was lost.
    with pytest.raises(ClientError) as exists:
        second.iam.create_role(RoleName="Shared", AssumeRolePolicyDocument=json.dumps(TRUST))
    assert exists.value.response["Error"]["Code"] == "EntityAlreadyExists"


def test_records_files_of_earlier_versions_are_imported_once(
    serve_service: Callable[..., ServiceServer], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # What an earlier stepline left in the data directory: records files and secret files.
    monkeypatch.setenv("STEPLINE_DATA_DIR", str(tmp_path))
    cipher = SecretCipher(load_or_create_key())
    old = Connections(
        region=REGION,
        account=ACCOUNT,
        secret_store=FileSecretStore(tmp_path / "secrets", cipher),
    )
    key = "key-" + secrets.token_hex(8)
    arn = old.create(
        {"Name": "kept", "AuthorizationType": "API_KEY", "AuthParameters": _api_key(key)}
    )["ConnectionArn"]
    (tmp_path / CONNECTIONS_FILE).write_bytes(
        orjson.dumps(
            {
                "format": 1,
                "region": REGION,
                "account": ACCOUNT,
                "connections": [encode_record(r) for r in old.records()],
            }
        )
    )
    roles = Roles(account=ACCOUNT)
    roles.create_role("Old", json.dumps(TRUST))
    (tmp_path / IAM_FILE).write_bytes(orjson.dumps(roles.export_state()))

    server = serve_service("sqlite", directory=tmp_path)
    assert server.events.describe_connection(Name="kept")["ConnectionArn"] == arn
    assert _resolved_key(server, arn) == key
    assert server.iam.get_role(RoleName="Old")["Role"]["RoleName"] == "Old"
    assert not (tmp_path / CONNECTIONS_FILE).exists()
    assert (tmp_path / f"{CONNECTIONS_FILE}.imported").exists()
    assert (tmp_path / f"{IAM_FILE}.imported").exists()
    server.stop()

    # Started again: nothing to import, everything still there.
    again = serve_service("sqlite", directory=tmp_path)
    assert _resolved_key(again, arn) == key
    assert again.iam.get_role(RoleName="Old")["Role"]["RoleName"] == "Old"
