"""The AWS query protocol (IAM): form-encoded requests in, XML responses out.

A query request names its input with dotted keys (``Tags.member.1.Key=...``,
``Attributes.entry.1.value=...``); :func:`decode_query_input` rebuilds the nested input from
them, guided by the input shape, converting numbers, booleans and timestamps from text. The
result then goes through the same checks as a JSON request. Responses are written the way
botocore's query parser reads them: ``<OpResponse><OpResult>...</OpResult>
<ResponseMetadata><RequestId>...`` with lists as ``<member>`` elements and ISO 8601 times.
"""

from __future__ import annotations

import base64
from datetime import UTC, datetime
from typing import Any
from xml.sax.saxutils import escape

from stepline.api._errors import ProtocolError
from stepline.api._model import Operation, Shape

__all__ = ["decode_query_input", "xml_error_body", "xml_result_body"]

# A node of the dotted-key tree: children by key part, and the node's own text under "".
_Node = dict[str, Any]

_QUERY_ERROR_CODE = "ValidationError"


def decode_query_input(shape: Shape | None, params: dict[str, str]) -> dict[str, Any]:
    """Rebuild an operation's input from flat query parameters.

    Args:
        shape: The operation's input shape (None when it takes none).
        params: The request's parameters (``Action`` and ``Version`` included; ignored).

    Returns:
        The nested input, with Python types, ready for :class:`InputChecker`.

    Raises:
        ProtocolError: A parameter whose text does not read as its type.
    """
    if shape is None:
        return {}
    tree: _Node = {}
    for key, text in params.items():
        node = tree
        for part in key.split("."):
            node = node.setdefault(part, {})
        node[""] = text
    return _structure(shape, tree, "")


def _structure(shape: Shape, node: _Node, prefix: str) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for member in shape.members.values():
        child = node.get(member.wire_name)
        if child is not None:
            result[member.name] = _value(member.shape, child, prefix + member.path_name)
    return result


def _value(shape: Shape, node: _Node, path: str) -> object:
    kind = shape.type
    if kind == "structure":
        return _structure(shape, node, path + ".")
    if kind == "list":
        element = shape.member
        assert element is not None
        items = node if shape.flattened else node.get(shape.member_wire_name, {})
        return [
            _value(element, child, f"{path}.{index}.member")
            for index, child in _numbered(items, path)
        ]
    if kind == "map":
        key_shape, value_shape = shape.key, shape.value
        assert key_shape is not None and value_shape is not None
        entries = node if shape.flattened else node.get("entry", {})
        result: dict[str, Any] = {}
        for _, entry in _numbered(entries, path):
            key = entry.get("key", {}).get("")
            if key is None:
                raise _unreadable(path, "a map entry without a key")
            value_node = entry.get("value")
            if value_node is not None:
                result[key] = _value(value_shape, value_node, f"{path}.{key}.member")
        return result
    text = node.get("")
    if text is None:
        raise _unreadable(path, "a nested parameter where a single value belongs")
    if kind in ("string", "blob"):
        return text
    if kind in ("integer", "long"):
        try:
            return int(text)
        except ValueError:
            raise _unreadable(path, f"'{text}', which is not an integer") from None
    if kind in ("float", "double"):
        try:
            return float(text)
        except ValueError:
            raise _unreadable(path, f"'{text}', which is not a number") from None
    if kind == "boolean":
        if text in ("true", "false"):
            return text == "true"
        raise _unreadable(path, f"'{text}', which is not true or false")
    if kind == "timestamp":
        try:
            moment = datetime.fromisoformat(text)
        except ValueError:
            raise _unreadable(path, f"'{text}', which is not an ISO 8601 time") from None
        return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
    return text


def _numbered(node: _Node, path: str) -> list[tuple[int, _Node]]:
    """The ``.1``, ``.2``... children of a list or map node, in order (``Tags=`` is empty)."""
    items: list[tuple[int, _Node]] = []
    for part, child in node.items():
        if part == "":
            continue
        if not part.isdigit() or part.startswith("0"):
            raise _unreadable(path, f"the element index '{part}' (indexes count from 1)")
        items.append((int(part), child))
    items.sort(key=lambda item: item[0])
    return items


def _unreadable(path: str, what: str) -> ProtocolError:
    return ProtocolError(
        _QUERY_ERROR_CODE,
        f"Cannot read '{path}': the request has {what}; send it as the IAM API reference "
        "describes.",
    )


def xml_result_body(
    operation: Operation, result: dict[str, Any] | None, request_id: str, namespace: str
) -> bytes:
    """The XML body of a successful query response.

    Args:
        operation: The operation answered.
        result: The handler's result in the operation's output shape (None members dropped).
        request_id: The request id to report.
        namespace: The service's XML namespace.

    Returns:
        The UTF-8 encoded document.
    """
    name = operation.name
    parts = [f'<{name}Response xmlns="{namespace}">']
    if operation.result_wrapper is not None:
        parts.append(f"<{operation.result_wrapper}>")
        if operation.output is not None and result:
            _write_structure(operation.output, result, parts)
        parts.append(f"</{operation.result_wrapper}>")
    parts.append(
        f"<ResponseMetadata><RequestId>{request_id}</RequestId></ResponseMetadata></{name}Response>"
    )
    return "".join(parts).encode()


def xml_error_body(
    code: str, message: str, sender_fault: bool, request_id: str, namespace: str
) -> bytes:
    """The XML body of a query error, as botocore's query parser reads it."""
    fault = "Sender" if sender_fault else "Receiver"
    return (
        f'<ErrorResponse xmlns="{namespace}"><Error><Type>{fault}</Type>'
        f"<Code>{escape(code)}</Code><Message>{escape(message)}</Message></Error>"
        f"<RequestId>{request_id}</RequestId></ErrorResponse>"
    ).encode()


def _write_structure(shape: Shape, value: dict[str, Any], parts: list[str]) -> None:
    for member in shape.members.values():
        item = value.get(member.name)
        if item is not None:
            _write_value(member.shape, item, member.wire_name, parts)


def _write_value(shape: Shape, value: Any, tag: str, parts: list[str]) -> None:
    kind = shape.type
    if kind == "structure":
        parts.append(f"<{tag}>")
        _write_structure(shape, value, parts)
        parts.append(f"</{tag}>")
    elif kind == "list":
        element = shape.member
        assert element is not None
        if shape.flattened:
            for item in value:
                _write_value(element, item, tag, parts)
            return
        parts.append(f"<{tag}>")
        for item in value:
            _write_value(element, item, shape.member_wire_name, parts)
        parts.append(f"</{tag}>")
    elif kind == "map":
        key_shape, value_shape = shape.key, shape.value
        assert key_shape is not None and value_shape is not None
        parts.append(f"<{tag}>")
        for key, item in value.items():
            parts.append("<entry>")
            _write_value(key_shape, key, "key", parts)
            _write_value(value_shape, item, "value", parts)
            parts.append("</entry>")
        parts.append(f"</{tag}>")
    else:
        parts.append(f"<{tag}>{_scalar_text(kind, value)}</{tag}>")


def _scalar_text(kind: str, value: Any) -> str:
    if kind == "boolean":
        return "true" if value else "false"
    if kind == "timestamp":
        return iso8601(value)
    if kind == "blob":
        return base64.b64encode(value).decode()
    if kind == "string":
        return escape(value)
    return str(value)


def iso8601(moment: datetime) -> str:
    """A time as the query protocol writes it (UTC, ``Z``, milliseconds when not whole)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    moment = moment.astimezone(UTC)
    if moment.microsecond:
        return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")
