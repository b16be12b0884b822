"""``--connections`` files, read in-process: shape, ``${NAME}`` substitution, ARNs and the Region
and account they imply, and validation errors placed at the JSON Pointer of the field."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from stepline.cli._connections import build_connections, read_connection_files
from stepline.cli._errors import CliError

SECRET = "s3cr3t-value-Zq81"


def api_key(name: str = "Keygen", value: str = SECRET, **extra: Any) -> dict[str, Any]:
    return {
        "Name": name,
        "AuthorizationType": "API_KEY",
        "AuthParameters": {
            "ApiKeyAuthParameters": {"ApiKeyName": "Authorization", "ApiKeyValue": value}
        },
        **extra,
    }


def write(tmp_path: Path, value: Any, name: str = "connections.json") -> str:
    path = tmp_path / name
    path.write_text(value if isinstance(value, str) else json.dumps(value), encoding="utf-8")
    return str(path)


def error_of(paths: list[str], environ: dict[str, str] | None = None) -> str:
    with pytest.raises(CliError) as raised:
        entries, scope = read_connection_files(paths, environ or {})
        build_connections(
            entries,
            region=scope.region or "us-east-1",
            account=scope.account or "123456789012",
        )
    message = raised.value.message
    assert SECRET not in message
    return message


def test_substitution_escapes_and_untouched_values(tmp_path: Path) -> None:
    entry = api_key(value="Bearer ${TOKEN}", Description="costs $5, literal $${X} and ${A}${B}")
    entry["Stepline"] = {"Limits": {"MaxConcurrency": 2}}
    path = write(tmp_path, {"Connections": [entry]})

    entries, scope = read_connection_files([path], {"TOKEN": SECRET, "A": "a", "B": "b"})

    request = entries[0].request
    assert request["AuthParameters"]["ApiKeyAuthParameters"]["ApiKeyValue"] == f"Bearer {SECRET}"
    assert request["Description"] == "costs $5, literal ${X} and ab"
    assert request["Stepline"] == {"Limits": {"MaxConcurrency": 2}}
    assert (entries[0].pointer, entries[0].arn) == ("/Connections/0", None)
    assert (scope.region, scope.account) == (None, None)


def test_yaml_file_with_arn_sets_region_and_account(tmp_path: Path) -> None:
    arn = "arn:aws:events:eu-west-1:111122223333:connection/Keygen/abc-123"
    text = (
        "Connections:\n"
        "  - Name: Keygen\n"
        f"    ConnectionArn: {arn}\n"
        "    AuthorizationType: BASIC\n"
        "    AuthParameters:\n"
        "      BasicAuthParameters: {Username: u, Password: '${PW}'}\n"
    )
    path = write(tmp_path, text, "connections.yaml")

    entries, scope = read_connection_files([path], {"PW": SECRET})
    connections = build_connections(entries, region="eu-west-1", account="111122223333")

    assert (scope.region, scope.account) == ("eu-west-1", "111122223333")
    assert "ConnectionArn" not in entries[0].request
    assert connections.describe("Keygen")["ConnectionArn"] == arn


def test_unset_variable_names_it_the_file_and_the_pointer(tmp_path: Path) -> None:
    path = write(tmp_path, {"Connections": [api_key(), api_key("Other", "${MISSING_TOKEN}")]})

    message = error_of([path])

    assert message.startswith(f"{path}: /Connections/1/AuthParameters/ApiKeyAuthParameters/")
    assert "MISSING_TOKEN is not set" in message


@pytest.mark.parametrize("text", ["${", "${1ABC}", "${NAME", "x${bad-name}y", "${}"])
def test_malformed_references(tmp_path: Path, text: str) -> None:
    path = write(tmp_path, {"Connections": [api_key(Description=text)]})

    message = error_of([path])

    assert "/Connections/0/Description" in message
    assert "$${" in message


@pytest.mark.parametrize(
    ("document", "expected"),
    [
        ([], "holds an array"),
        ({"Connections": [], "Other": 1}, "unknown member 'Other'"),
        ({"Connections": {}}, "/Connections must be a list"),
        ({"Connections": ["x"]}, "/Connections/0: each connection must be an object"),
        ({"Connections": [api_key(ConnectionArn=5)]}, "/Connections/0/ConnectionArn: must be"),
    ],
)
def test_file_shape_errors(tmp_path: Path, document: Any, expected: str) -> None:
    assert expected in error_of([write(tmp_path, document)])


def test_empty_file(tmp_path: Path) -> None:
    assert "is empty" in error_of([write(tmp_path, "", "connections.yaml")])


def test_validation_error_is_placed_at_the_field(tmp_path: Path) -> None:
    entry = api_key()
    entry["AuthParameters"]["InvocationHttpParameters"] = {
        "HeaderParameters": [
            {"Key": "X-Ok", "Value": "v"},
            {"Key": "bad header", "Value": SECRET, "IsValueSecret": True},
        ]
    }
    path = write(tmp_path, {"Connections": [entry]})

    message = error_of([path])

    pointer = "/Connections/0/AuthParameters/InvocationHttpParameters/HeaderParameters/1/Key"
    assert message.startswith(f"{path}: {pointer}: ")
    assert "aws events create-connection" in message


def test_request_level_problem_is_placed_at_the_entry(tmp_path: Path) -> None:
    path = write(tmp_path, {"Connections": [{"Name": "A", "Color": "blue"}]})

    message = error_of([path])

    assert message.startswith(f"{path}: /Connections/0/Color: ")


def test_duplicate_names_across_files(tmp_path: Path) -> None:
    first = write(tmp_path, {"Connections": [api_key()]}, "a.json")
    second = write(tmp_path, {"Connections": [api_key()]}, "b.json")

    message = error_of([first, second])

    assert message.startswith(f"{second}: /Connections/0/Name: ")
    assert f"{first}: /Connections/0" in message


@pytest.mark.parametrize(
    ("arns", "expected"),
    [
        (["arn:aws:events:us-east-1:123456789012:rule/Keygen"], "not a connection ARN"),
        (["arn:aws:events:us-east-1:123456789012:connection/Other/x"], "names the connection"),
        (["arn:aws:events:cn-north-1:123456789012:connection/Keygen/x"], "partition"),
        (
            [
                "arn:aws:events:us-east-1:123456789012:connection/Keygen/x",
                "arn:aws:events:us-west-2:123456789012:connection/Second/x",
            ],
            "one Region and account",
        ),
    ],
)
def test_arn_problems(tmp_path: Path, arns: list[str], expected: str) -> None:
    names = ["Keygen", "Second"]
    entries = [api_key(names[i], ConnectionArn=arn) for i, arn in enumerate(arns)]
    message = error_of([write(tmp_path, {"Connections": entries})])

    assert expected in message
    assert "/ConnectionArn" in message


def test_standard_input_is_refused() -> None:
    assert "standard input" in error_of(["-"])
