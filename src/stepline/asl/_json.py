"""JSON encoding for the hot path: orjson, with a guard for what orjson refuses.

orjson is ~15x faster than :mod:`json` but rejects integers wider than 64 bits; ASL inputs may
hold them (IDs from other systems), so encoding falls back to :mod:`json` for those values.
Decoding uses :mod:`json` where exactness matters (user input), because orjson turns big integers
into floats.
"""

from __future__ import annotations

import json
import math
from typing import Any

import orjson

__all__ = [
    "a_json_type",
    "dumps_bytes",
    "dumps_text",
    "json_problem",
    "json_type",
    "loads",
    "payload_size",
]


def dumps_bytes(value: Any) -> bytes:
    """Encode compactly to UTF-8 bytes (AWS's compact form, no spaces)."""
    try:
        return orjson.dumps(value)
    except TypeError:
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()


def dumps_text(value: Any) -> str:
    """Encode compactly to a ``str``."""
    try:
        return orjson.dumps(value).decode()
    except TypeError:
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def payload_size(value: Any) -> int:
    """Size in bytes of the UTF-8 JSON encoding, the measure AWS's payload quota uses."""
    return len(dumps_bytes(value))


def loads(text: str | bytes) -> Any:
    """Decode JSON text exactly (big integers stay integers)."""
    return json.loads(text)


def json_problem(value: Any, where: str = "") -> str | None:
    """Describe why ``value`` is not plain JSON (with a JSON Pointer to the culprit), or ``None``.

    Plain JSON here means ``dict`` with ``str`` keys, ``list`` (or ``tuple``, which becomes an
    array), ``str``, ``int``, finite ``float``, ``bool`` and ``None``. Sets, NaN, non-string
    keys and arbitrary objects are refused instead of being silently converted.
    """
    try:
        encoded = orjson.dumps(value)
    except TypeError:
        pass  # a non-string key, a non-JSON type or a 65-bit integer: the walk tells which
    else:
        # orjson refuses every non-JSON type and key; it only writes NaN/Infinity as null,
        # so output without a null cannot hide one and the walk can be skipped.
        if b"null" not in encoded:
            return None
    stack: list[tuple[Any, str]] = [(value, where)]
    while stack:
        item, pointer = stack.pop()
        kind = type(item)
        if kind is dict:
            for key, child in item.items():
                if type(key) is not str:
                    return f"the object at '{pointer or '/'}' has a non-string key {key!r}"
                stack.append((child, f"{pointer}/{key}"))
        elif kind is list or kind is tuple:
            stack.extend((child, f"{pointer}/{index}") for index, child in enumerate(item))
        elif kind is float:
            if not math.isfinite(item):
                return f"the number at '{pointer or '/'}' is {item!r}, which JSON cannot hold"
        elif kind not in (str, int, bool, type(None)):
            return f"the value at '{pointer or '/'}' is a {kind.__name__}, not a JSON value"
    return None


def json_type(value: Any) -> str:
    """JSON's name for the type of a value (``object``, ``array``, ``string``, ``number``,
    ``boolean``, ``null``), for messages; a non-JSON value gives its Python type name."""
    if value is None:
        return "null"
    kind = type(value)
    if kind is bool:
        return "boolean"
    if kind is int or kind is float:
        return "number"
    if kind is str:
        return "string"
    if kind is list:
        return "array"
    if kind is dict:
        return "object"
    return kind.__name__


_JSON_NAMES = frozenset({"null", "boolean", "number", "string", "array", "object"})


def a_json_type(value: Any) -> str:
    """The type of a value with its article (``an object``, ``a number``), for messages that
    must not show the value itself (it may be a secret); ``a Python set`` for non-JSON values."""
    name = json_type(value)
    if name not in _JSON_NAMES:
        return f"a Python {name}"
    if name == "null":
        return "null"
    return f"an {name}" if name[0] in "aeiou" else f"a {name}"
