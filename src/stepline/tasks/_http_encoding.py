"""Percent-encoding for the HTTP Task: query strings and form-encoded (URL_ENCODED) bodies.

Everything is encoded the same way: RFC 3986 unreserved characters (letters, digits, ``-._~``)
are kept and every other character becomes ``%XX`` of its UTF-8 bytes, so a space is ``%20``
(never ``+``) and the brackets of nested keys are ``%5B``/``%5D``, as AWS sends them.

Values are flattened into ``(key, value)`` pairs: nested objects by bracket notation
(``meta[ref]``), arrays by the ``ArrayFormat`` in force, scalars as their JSON text (``true``,
``2.5``), ``null`` as the empty string, strings as themselves. Empty arrays and objects produce
no pair.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any, Final
from urllib.parse import quote, unquote

from stepline.asl._json import dumps_text

__all__ = [
    "encode_component",
    "flatten",
    "form_encode",
    "preformed_query_segments",
    "scalar_text",
    "segment_name",
]

# A '%' that does not start a %XX escape, in a pre-formed query string.
_STRAY_PERCENT: Final = re.compile(r"%(?![0-9A-Fa-f]{2})")
# What a pre-formed query string may keep as written: RFC 3986's query characters.
_QUERY_SAFE: Final = "!$'()*+,;=:@/?%"


def encode_component(text: str) -> str:
    """Percent-encode ``text``: unreserved characters kept, everything else ``%XX`` of UTF-8.

    Raises:
        UnicodeEncodeError: ``text`` holds a lone surrogate, which UTF-8 cannot encode.
    """
    return quote(text, safe="")


def scalar_text(value: Any) -> str:
    """The text a scalar is sent as: strings as-is, ``null`` empty, others their JSON text."""
    if isinstance(value, str):
        return value
    if value is None:
        return ""
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, int):
        return str(value)
    return dumps_text(value)


def _is_scalar(value: Any) -> bool:
    return not isinstance(value, dict | list)


def flatten(value: Any, key: str, array_format: str) -> Iterator[tuple[str, str]]:
    """The encoded ``(key, value)`` pairs of one member, recursing into objects and arrays.

    Args:
        value: The member's value.
        key: Its name as it should appear before encoding (``meta[ref]``).
        array_format: ``INDICES``, ``REPEAT``, ``COMMAS`` or ``BRACKETS``.

    Yields:
        Percent-encoded key and value.
    """
    if isinstance(value, dict):
        for name, child in value.items():
            yield from flatten(child, f"{key}[{name}]", array_format)
    elif isinstance(value, list):
        if not value:
            return
        if array_format == "COMMAS" and all(_is_scalar(item) for item in value):
            # Separators stay literal commas; a comma inside an element is %2C, so the
            # elements can still be told apart.
            joined = ",".join(encode_component(scalar_text(item)) for item in value)
            yield encode_component(key), joined
            return
        if array_format == "REPEAT":
            for item in value:
                yield from flatten(item, key, array_format)
        elif array_format == "BRACKETS":
            for item in value:
                yield from flatten(item, key + "[]", array_format)
        else:  # INDICES, and COMMAS for arrays holding objects or arrays
            for index, item in enumerate(value):
                yield from flatten(item, f"{key}[{index}]", array_format)
    else:
        yield encode_component(key), encode_component(scalar_text(value))


def form_encode(body: dict[str, Any], array_format: str) -> str:
    """``application/x-www-form-urlencoded`` text of an object, keys in the object's order."""
    return "&".join(
        f"{key}={value}"
        for name, member in body.items()
        for key, value in flatten(member, name, array_format)
    )


def preformed_query_segments(text: str) -> list[str]:
    """Split a query string written by the author into its ``key=value`` segments.

    Only what a query cannot hold is percent-encoded (spaces, non-ASCII, a ``%`` that starts no
    escape); existing escapes and ``+`` are kept as written, since the author chose them. A
    leading ``?`` is ignored and empty segments are dropped; a bare ``flag`` stays bare.
    """
    return [
        quote(_STRAY_PERCENT.sub("%25", segment), safe=_QUERY_SAFE)
        for segment in text.removeprefix("?").split("&")
        if segment
    ]


def segment_name(segment: str) -> str:
    """The decoded key of an encoded ``key=value`` query segment."""
    return unquote(segment.partition("=")[0])
