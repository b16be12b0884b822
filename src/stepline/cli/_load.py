"""Reading definitions and inputs: files or stdin, JSON or YAML, always plain JSON values.

Every failure becomes a :class:`~stepline.cli._errors.CliError` naming the file and, where the
parser knows it, the line and column, or the JSON Pointer of a value JSON cannot represent.
JSON is parsed with the standard library so that integers of any size stay exact; YAML with
PyYAML's safe loader, minus two YAML 1.1 surprises (see :class:`_JsonishLoader`).
"""

from __future__ import annotations

import json
import math
import os
import sys
from dataclasses import dataclass
from typing import Any, Final, Literal

import yaml

from stepline.asl._diagnostics import pointer
from stepline.asl._json import json_type
from stepline.cli._errors import CliError

__all__ = ["STDIN", "Document", "load_definition", "load_document", "load_input"]

Format = Literal["json", "yaml"]

STDIN: Final = "-"
"""The file name that means "read standard input"."""

_EXTENSIONS: Final[dict[str, Format]] = {".json": "json", ".yaml": "yaml", ".yml": "yaml"}

_INPUT_HINT: Final = (
    'Pass a JSON value in single quotes, e.g. --input \'{"name": "Ada"}\', '
    "or read it from a file with --input @input.json."
)


@dataclass(frozen=True, slots=True)
class Document:
    """A parsed file.

    Attributes:
        source: How to name it in messages (the path as given, or ``<stdin>``).
        text: The text as read.
        format: ``json`` or ``yaml``: how it was parsed.
        value: The parsed JSON value.
    """

    source: str
    text: str
    format: Format
    value: Any


_MERGE_TAG: Final = "tag:yaml.org,2002:merge"


class _JsonishLoader(yaml.SafeLoader):
    """PyYAML's safe loader, minus what would silently turn a definition into something else.

    Unquoted timestamps stay strings (``Timestamp: 2026-01-01T00:00:00Z`` is an ASL string,
    not a ``datetime``), and a key repeated in one mapping is an error, as it would be for
    ``validate`` on a JSON file, instead of the last value silently winning.
    """

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            # Merge keys (``<<: *base``) may legitimately be overridden by the mapping's own.
            if not isinstance(key_node, yaml.ScalarNode) or key_node.tag == _MERGE_TAG:
                continue
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None,
                    None,
                    f"the key {key!r} appears twice in one mapping; keep only one",
                    key_node.start_mark,
                )
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


_JsonishLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def load_definition(path: str) -> Document:
    """Read and parse a definition file (``-`` for stdin), which must hold a JSON object.

    Raises:
        CliError: The file cannot be read or parsed, or does not hold an object.
    """
    source, text = _read(path, "definition")
    document = _parse(source, text, _format_of(path, text), "definition")
    if not isinstance(document.value, dict):
        kind = json_type(document.value)
        found = f"{'an' if kind[0] in 'aeiou' else 'a'} {kind}"
        if not document.text.strip():
            found = "nothing (the file is empty)"
        raise CliError(
            f'{source}: a state machine definition must be an object with "StartAt" and '
            f'"States", but the file holds {found}. Check that this is the right file.'
        )
    return document


def load_document(path: str, what: str) -> Document:
    """Read and parse any JSON or YAML file the command was given (``-`` for stdin).

    Args:
        path: The file.
        what: What the file is, for messages (``connections file``).

    Raises:
        CliError: The file cannot be read or parsed, or holds a value JSON cannot represent.
    """
    source, text = _read(path, what)
    return _parse(source, text, _format_of(path, text), what)


def load_input(argument: str | None) -> Any:
    """The execution input from ``--input``: JSON text, ``@FILE`` (JSON or YAML), or ``{}``.

    Raises:
        CliError: The text or file is not a JSON value, or the file cannot be read.
    """
    if argument is None:
        return {}
    if argument.startswith("@"):
        path = argument[1:]
        if not path:
            raise CliError("--input @ needs a file name after the @, e.g. --input @input.json.")
        source, text = _read(path, "input")
        document = _parse(source, text, _format_of(path, text), "input")
        if document.value is None and not text.strip():
            raise CliError(
                f"{source}: the input file is empty. Write a JSON value into it, e.g. {{}}."
            )
        return document.value
    return _parse("--input", argument, "json", "input").value


# --- reading ----------------------------------------------------------------------------------


def _read(path: str, what: str) -> tuple[str, str]:
    """Return ``(display name, text)`` of a file or of stdin."""
    if path == STDIN:
        source = "<stdin>"
        try:
            data = sys.stdin.buffer.read()
        except OSError as exc:
            raise CliError(f"Cannot read the {what} from standard input: {exc.strerror}.") from None
    else:
        source = path
        try:
            with open(path, "rb") as stream:
                data = stream.read()
        except FileNotFoundError:
            raise CliError(
                f"{path}: no such file. Check the {what} file's name; relative paths are read "
                f"from the current directory ({os.getcwd()})."
            ) from None
        except IsADirectoryError:
            raise CliError(f"{path}: is a directory; give the path of the {what} file.") from None
        except OSError as exc:
            reason = exc.strerror or str(exc)
            raise CliError(f"{path}: cannot read the {what} file: {reason}.") from None
    try:
        return source, data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise CliError(
            f"{source}: not UTF-8 text (byte 0x{data[exc.start]:02x} at offset {exc.start}). "
            f"Save the {what} as UTF-8."
        ) from None


def _format_of(path: str, text: str) -> Format:
    """By extension; otherwise JSON if it looks like a JSON object or array, else YAML."""
    extension = os.path.splitext(path)[1].lower()
    if extension in _EXTENSIONS:
        return _EXTENSIONS[extension]
    return "json" if text.lstrip().startswith(("{", "[")) else "yaml"


# --- parsing ----------------------------------------------------------------------------------


class _NotJsonError(ValueError):
    """A JSON text uses a constant JSON does not have."""


def _reject_constant(name: str) -> Any:
    raise _NotJsonError(f"{name} is not a JSON value")


def _parse(source: str, text: str, fmt: Format, what: str) -> Document:
    hint = _INPUT_HINT if source == "--input" else f"Correct the {what} and try again."
    if fmt == "json":
        value = _parse_json(source, text, what, hint)
    else:
        value = _parse_yaml(source, text, what, hint)
    problem = _non_json(value)
    if problem is not None:
        location, message = problem
        raise CliError(f"{source}: the value at {location or '/'} {message}.")
    return Document(source, text, fmt, value)


def _parse_json(source: str, text: str, what: str, hint: str) -> Any:
    try:
        return json.loads(text, parse_constant=_reject_constant)
    except json.JSONDecodeError as exc:
        extra = ""
        if source != "--input" and not os.path.splitext(source)[1]:
            extra = " If the file is YAML, give it a .yaml extension."
        raise CliError(
            f"{source}: line {exc.lineno}, column {exc.colno}: the {what} is not valid JSON "
            f"({exc.msg}). {hint}{extra}"
        ) from None
    except RecursionError:
        raise CliError(f"{source}: the {what} is nested too deeply to read.") from None
    except ValueError as exc:
        # NaN/Infinity, or an integer longer than Python converts by default (4300 digits).
        raise CliError(f"{source}: the {what} is not valid JSON ({exc}). {hint}") from None


def _parse_yaml(source: str, text: str, what: str, hint: str) -> Any:
    try:
        # A SafeLoader subclass: as safe as yaml.safe_load.
        return yaml.load(text, Loader=_JsonishLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark is not None else ""
        problem = exc.problem or "unexpected content"
        if exc.context:
            problem = f"{exc.context}: {problem}"
        start = exc.context_mark
        if start is not None and (mark is None or start.line != mark.line):
            problem += f"; it started at line {start.line + 1}, column {start.column + 1}"
        raise CliError(
            f"{source}: {where}the {what} is not valid YAML ({problem}). {hint}"
        ) from None
    except yaml.YAMLError as exc:
        detail = " ".join(str(exc).split())
        raise CliError(f"{source}: the {what} is not valid YAML ({detail}). {hint}") from None
    except RecursionError:
        raise CliError(f"{source}: the {what} is nested too deeply to read.") from None


def _non_json(value: Any) -> tuple[str, str] | None:
    """Find a value JSON cannot hold; return ``(JSON Pointer, what is wrong)``, or ``None``."""
    stack: list[tuple[Any, tuple[str | int, ...]]] = [(value, ())]
    # YAML aliases can share one container many times; visit each once (a "billion laughs"
    # document would otherwise take exponential time here).
    visited: set[int] = set()
    while stack:
        item, parts = stack.pop()
        if isinstance(item, dict):
            if id(item) in visited:
                continue
            visited.add(id(item))
            for key, child in item.items():
                if not isinstance(key, str):
                    return pointer(*parts), (
                        f"has the key {json.dumps(key)}, which is not a string; JSON keys are "
                        "strings, so quote it (in YAML, yes/no/on/off and numbers need quotes "
                        "as keys)"
                    )
                stack.append((child, (*parts, key)))
        elif isinstance(item, list):
            if id(item) in visited:
                continue
            visited.add(id(item))
            stack.extend((child, (*parts, index)) for index, child in enumerate(item))
        elif isinstance(item, float) and not math.isfinite(item):
            return pointer(*parts), f"is {item!r}, which JSON cannot represent"
        elif item is not None and not isinstance(item, str | int | float):
            return pointer(*parts), (
                f"is a {type(item).__name__}, which JSON cannot represent; write it as a "
                "string, number, boolean, null, list or mapping"
            )
    return None
