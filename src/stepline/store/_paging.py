"""Page sizes and opaque page tokens.

A token is ``base64url(JSON) "." base64url(MAC)``: the JSON holds the listing it was made for
(kind and filter), the position to continue from and when it was issued; the MAC (HMAC-SHA256,
truncated, keyed with a per-database secret) makes it tamper-evident, so a token edited by hand,
made for another listing, or older than AWS's 24 hours is refused with
:class:`~stepline.store.InvalidPageToken`. The position is a keyset position (the last key
returned), so pages stay consistent while rows are added.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import time
from typing import Any, Final

import orjson

from stepline.store._errors import InvalidPageToken

__all__ = ["DEFAULT_PAGE_SIZE", "MAX_PAGE_SIZE", "TOKEN_LIFETIME", "PageTokens", "page_size"]

DEFAULT_PAGE_SIZE: Final = 100
MAX_PAGE_SIZE: Final = 1000
TOKEN_LIFETIME: Final = 24 * 3600.0
_MAC_BYTES: Final = 12
# The model allows 1024 characters (3096 for ListExecutions); stay under the smaller one.
_MAX_TOKEN_CHARS: Final = 1024


def page_size(max_results: int) -> int:
    """The page size for a ``maxResults`` value (0 means AWS's default of 100).

    Raises:
        ValueError: Outside 0…1000 (the API layer validates first; this guards the store).
    """
    if max_results == 0:
        return DEFAULT_PAGE_SIZE
    if not 0 < max_results <= MAX_PAGE_SIZE:
        raise ValueError(f"maxResults must be between 0 and {MAX_PAGE_SIZE}, got {max_results}.")
    return max_results


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class PageTokens:
    """Makes and checks page tokens with one secret key.

    Args:
        key: The MAC key (a per-database random secret, so tokens survive restarts).
        clock: Seconds since the epoch; tests may pass their own.
    """

    __slots__ = ("_clock", "_key")

    def __init__(self, key: bytes, clock: Any = time.time) -> None:
        self._key = key
        self._clock = clock

    def _mac(self, body: bytes) -> bytes:
        return hmac.new(self._key, body, hashlib.sha256).digest()[:_MAC_BYTES]

    def make(self, kind: str, listing: list[Any], position: list[Any]) -> str:
        """A token to continue ``listing`` (kind + filter values) after ``position``."""
        body = orjson.dumps({"k": kind, "f": listing, "p": position, "t": int(self._clock())})
        return f"{_b64(body)}.{_b64(self._mac(body))}"

    def read(self, token: str, kind: str, listing: list[Any]) -> list[Any]:
        """The position a token continues from.

        Raises:
            InvalidPageToken: Malformed, tampered with, made for another listing, or expired.
        """
        if not token or len(token) > _MAX_TOKEN_CHARS or token.count(".") != 1:
            raise InvalidPageToken("it is not a token this service issued")
        body_text, mac_text = token.split(".")
        try:
            body = _unb64(body_text)
            mac = _unb64(mac_text)
        except (binascii.Error, ValueError):
            raise InvalidPageToken("it is not a token this service issued") from None
        if not hmac.compare_digest(mac, self._mac(body)):
            raise InvalidPageToken("it is not a token this service issued, or it was altered")
        content = orjson.loads(body)
        if content.get("k") != kind or content.get("f") != listing:
            raise InvalidPageToken("it was issued for a different listing or other arguments")
        if self._clock() - content.get("t", 0) > TOKEN_LIFETIME:
            raise InvalidPageToken("it expired (tokens last 24 hours)")
        position = content.get("p")
        if not isinstance(position, list):
            raise InvalidPageToken("it is not a token this service issued")
        return position
