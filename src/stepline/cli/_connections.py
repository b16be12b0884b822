"""``stepline run --connections FILE``: the EventBridge connections an HTTP Task may use.

A connections file (JSON or YAML) holds::

    {"Connections": [<CreateConnection request>, ...]}

Each entry is exactly what ``aws events create-connection --cli-input-json`` takes, plus two
stepline extensions: a top-level ``ConnectionArn``, the ARN the connection answers to (so a
definition written for AWS, which names its connection by ARN, runs unchanged), and the
``Stepline`` block of the connections package (``Tls``, ``Limits``).

Any string value may name environment variables as ``${NAME}``; they are substituted when the
file is read, so that credentials need not be written into it. ``$${`` stands for a literal
``${``. Every problem is a :class:`~stepline.cli._errors.CliError` naming the file and the JSON
Pointer of the value at fault, never the value itself (it may be a secret).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from stepline.asl._diagnostics import pointer
from stepline.asl._json import json_type
from stepline.cli._errors import CliError
from stepline.cli._load import STDIN, load_document
from stepline.connections import (
    ConnectionAlreadyExists,
    Connections,
    ConnectionValidationError,
)
from stepline.connections._model import partition_of
from stepline.connections._validate import CREATE_REQUEST_MEMBERS

__all__ = ["ConnectionEntry", "ConnectionScope", "build_connections", "read_connection_files"]

_WHAT: Final = "connections file"
_ENTRY_ARN: Final = "ConnectionArn"
_SHAPE: Final = (
    '{"Connections": [...]}, each entry a CreateConnection request as for '
    "'aws events create-connection --cli-input-json', optionally with \"ConnectionArn\""
)
_NAME: Final = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_REFERENCE: Final = re.compile(r"\$\$?\{")
_ARN: Final = re.compile(
    r"arn:(?P<partition>aws[a-z\-]*):events:(?P<region>[a-z]{2}(?:-[a-z]+)+-\d+):"
    r"(?P<account>\d{12}):connection/(?P<name>[.\-_A-Za-z0-9]{1,64})/(?P<id>[\-A-Za-z0-9]+)"
)
_FIELD_PATH: Final = re.compile(r"([A-Za-z]+(?:\.[A-Za-z]+|\[\d+\])*) ")
_PATH_PART: Final = re.compile(r"[A-Za-z]+|\[(\d+)\]")


@dataclass(frozen=True, slots=True)
class ConnectionEntry:
    """One connection of a connections file, its ``${...}`` references substituted.

    Attributes:
        source: The file, as given.
        pointer: The entry's JSON Pointer (``/Connections/0``).
        request: The CreateConnection request (``ConnectionArn`` removed).
        arn: The ARN it answers to, when the entry gives one.
    """

    source: str
    pointer: str
    request: dict[str, Any]
    arn: str | None

    @property
    def where(self) -> str:
        """``FILE: POINTER``, for messages."""
        return f"{self.source}: {self.pointer}"


@dataclass(frozen=True, slots=True)
class ConnectionScope:
    """The Region and account the ``ConnectionArn`` values agree on (``None``: none given).

    Attributes:
        region: The Region, or ``None``.
        account: The account id, or ``None``.
    """

    region: str | None = None
    account: str | None = None


def read_connection_files(
    paths: Sequence[str], environ: Mapping[str, str]
) -> tuple[tuple[ConnectionEntry, ...], ConnectionScope]:
    """Read every ``--connections`` file.

    Args:
        paths: The files, in the order given.
        environ: Where ``${NAME}`` references are looked up.

    Returns:
        The entries, and the Region and account their ARNs name.

    Raises:
        CliError: A file cannot be read, has the wrong shape, names an unset variable, or its
            ARNs disagree on the Region or account.
    """
    entries: list[ConnectionEntry] = []
    for path in paths:
        if path == STDIN:
            raise CliError(
                "--connections cannot read standard input: give the path of a connections "
                "file (JSON or YAML)."
            )
        entries.extend(_read_file(path, environ))
    return tuple(entries), _scope(entries)


def build_connections(
    entries: Sequence[ConnectionEntry], *, region: str, account: str
) -> Connections:
    """A registry holding every entry's connection, under its ``ConnectionArn`` when given.

    Raises:
        CliError: An entry is not a valid CreateConnection request, or a name is repeated.
    """
    connections = Connections(region=region, account=account)
    first_by_name: dict[str, ConnectionEntry] = {}
    for entry in entries:
        try:
            connections.create(entry.request, connection_arn=entry.arn)
        except ConnectionAlreadyExists:
            name = str(entry.request["Name"])
            first = first_by_name[name]
            raise CliError(
                f"{entry.where}/Name: a connection named {name!r} is already defined at "
                f"{first.where}. Connection names are unique within a run: rename one, or "
                "remove the duplicate."
            ) from None
        except ConnectionValidationError as exc:
            raise CliError(_invalid(entry, exc.message)) from None
        first_by_name[entry.request["Name"]] = entry
    return connections


# --- reading ------------------------------------------------------------------------------------


def _read_file(path: str, environ: Mapping[str, str]) -> list[ConnectionEntry]:
    document = load_document(path, _WHAT)
    source = document.source
    value = document.value
    if not isinstance(value, dict) or set(value) != {"Connections"}:
        if isinstance(value, dict) and "Connections" in value:
            extra = sorted(key for key in value if key != "Connections")
            problem = f"has the unknown member{'s' if len(extra) > 1 else ''} " + ", ".join(
                repr(key) for key in extra
            )
        else:
            problem = f"holds {_a(json_type(value))}"
            if not document.text.strip():
                problem = "is empty"
        raise CliError(f"{source}: the connections file {problem}; it must hold {_SHAPE}.")
    listed = value["Connections"]
    if not isinstance(listed, list):
        raise CliError(
            f"{source}: /Connections must be a list of connections, got {_a(json_type(listed))}; "
            f"the file must hold {_SHAPE}."
        )
    entries: list[ConnectionEntry] = []
    for index, item in enumerate(listed):
        parts: tuple[str | int, ...] = ("Connections", index)
        where = f"{source}: {pointer(*parts)}"
        if not isinstance(item, dict):
            raise CliError(
                f"{where}: each connection must be an object (a CreateConnection request), got "
                f"{_a(json_type(item))}."
            )
        request = _substitute(item, parts, source, environ)
        arn = request.pop(_ENTRY_ARN, None)
        if arn is not None and not isinstance(arn, str):
            raise CliError(
                f"{where}/{_ENTRY_ARN}: must be a string, the ARN the definition names, e.g. "
                "arn:aws:events:us-east-1:123456789012:connection/Stripe/<id>."
            )
        entries.append(ConnectionEntry(source, pointer(*parts), request, arn))
    return entries


def _a(kind: str) -> str:
    return f"{'an' if kind[0] in 'aeiou' else 'a'} {kind}"


# --- ${NAME} substitution ----------------------------------------------------------------------


def _substitute(
    value: Any, parts: tuple[str | int, ...], source: str, environ: Mapping[str, str]
) -> Any:
    """``value`` with every ``${NAME}`` in its string values replaced (a new structure)."""
    if isinstance(value, str):
        return _expand(value, parts, source, environ) if "$" in value else value
    if isinstance(value, dict):
        return {
            key: _substitute(child, (*parts, key), source, environ) for key, child in value.items()
        }
    if isinstance(value, list):
        return [
            _substitute(child, (*parts, index), source, environ)
            for index, child in enumerate(value)
        ]
    return value


def _expand(
    text: str, parts: tuple[str | int, ...], source: str, environ: Mapping[str, str]
) -> str:
    pieces: list[str] = []
    position = 0
    for match in _REFERENCE.finditer(text):
        start = match.start()
        if start < position:
            continue  # inside a reference already consumed
        pieces.append(text[position:start])
        if match.group() == "$${":
            pieces.append("${")
            position = match.end()
            continue
        close = text.find("}", match.end())
        name = text[match.end() : close] if close != -1 else ""
        if close == -1 or not _NAME.fullmatch(name):
            raise CliError(
                f"{source}: {pointer(*parts)}: a '${{' here does not start a reference of the "
                "form ${NAME} (a letter or underscore, then letters, digits or underscores, "
                "then '}'). Correct the reference, or write $${ for a literal '${'."
            )
        replacement = environ.get(name)
        if replacement is None:
            raise CliError(
                f"{source}: {pointer(*parts)}: the environment variable {name} is not set. Set "
                f"it before running (export {name}=...), or write the value into the file."
            )
        pieces.append(replacement)
        position = close + 1
    pieces.append(text[position:])
    return "".join(pieces)


# --- ARNs, Region and account ------------------------------------------------------------------


def _scope(entries: Sequence[ConnectionEntry]) -> ConnectionScope:
    first: ConnectionEntry | None = None
    scope = ConnectionScope()
    for entry in entries:
        if entry.arn is None:
            continue
        match = _ARN.fullmatch(entry.arn)
        where = f"{entry.where}/{_ENTRY_ARN}"
        if match is None:
            raise CliError(
                f"{where}: not a connection ARN; write it as "
                "arn:aws:events:<region>:<account>:connection/<name>/<id>, as the definition "
                "names it."
            )
        name = entry.request.get("Name")
        if isinstance(name, str) and match["name"] != name:
            raise CliError(
                f"{where}: the ARN names the connection {match['name']!r}, but the entry's Name "
                f"is {name!r}; make them the same (an EventBridge connection ARN ends in "
                "connection/<Name>/<id>)."
            )
        if match["partition"] != partition_of(match["region"]):
            raise CliError(
                f"{where}: the partition {match['partition']!r} does not go with the Region "
                f"{match['region']}; use arn:{partition_of(match['region'])}:events:..."
            )
        if first is None:
            first = entry
            scope = ConnectionScope(match["region"], match["account"])
        elif (match["region"], match["account"]) != (scope.region, scope.account):
            raise CliError(
                f"{where}: this connection is in {match['region']} for account "
                f"{match['account']}, but the one at {first.where} is in {scope.region} for "
                f"account {scope.account}. A run has one Region and account, as a state "
                "machine does on AWS: keep the connections of one Region and account in a run."
            )
    return scope


# --- validation messages -----------------------------------------------------------------------


def _invalid(entry: ConnectionEntry, message: str) -> str:
    """A connections validation message, placed at the JSON Pointer of the field it names."""
    location = entry.pointer
    match = _FIELD_PATH.match(message)
    if match is not None:
        path = match.group(1)
        first = path.split(".", 1)[0].split("[", 1)[0]
        # A field path starts with a member of the request ("AuthParameters.BasicAuthParameters.
        # Password must be ..."); "The request must be ..." starts with no field; an unknown
        # member is in the entry.
        if first in CREATE_REQUEST_MEMBERS or first in entry.request:
            parts = [
                int(index) if index else text
                for text, index in ((m.group(), m.group(1)) for m in _PATH_PART.finditer(path))
            ]
            location += pointer(*parts)
    return (
        f"{entry.source}: {location}: {message} Fix this connection and run again (its fields "
        "are those of 'aws events create-connection')."
    )
