"""JSON encoding for the hot path: orjson, with a guard for what orjson refuses.

orjson is ~15x faster than :mod:`json` but rejects integers wider than 64 bits; ASL inputs may
hold them (IDs from other systems), so encoding falls back to :mod:`json` for those values.
Decoding uses :mod:`json` where exactness matters (user input), because orjson turns big integers
into floats.
"""

from __future__ import annotations

import json
from typing import Any

import orjson

__all__ = ["dumps_bytes", "dumps_text", "loads", "payload_size"]


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
