"""ListConnections: the request's checks and the opaque, query-bound ``NextToken``.

The token is base64url of a small JSON object holding the last name returned and a hash of the
filters (``NamePrefix``, ``ConnectionState``); a token from another query, or one that is not
ours, is refused with ``InvalidToken`` (EventBridge answers HTTP 400 ``InvalidToken``).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from stepline.connections._errors import ConnectionValidationError, InvalidPaginationToken
from stepline.connections._model import CONNECTION_STATES
from stepline.connections._validate import parse_name

__all__ = ["ListQuery", "next_token", "parse_list_request"]

_TOKEN_VERSION: Final = 1
_DEFAULT_LIMIT: Final = 100
_MEMBERS: Final = frozenset({"NamePrefix", "ConnectionState", "NextToken", "Limit"})


@dataclass(frozen=True, slots=True)
class ListQuery:
    """A checked ListConnections request.

    Attributes:
        prefix: ``NamePrefix``.
        state: ``ConnectionState`` filter.
        limit: Page size (``Limit``, default 100).
        after: Names up to and including this one were returned already.
        fingerprint: Identifies the filters, so a token only continues its own query.
    """

    prefix: str | None
    state: str | None
    limit: int
    after: str | None
    fingerprint: str


def parse_list_request(request: Mapping[str, Any] | None) -> ListQuery:
    """Check a ListConnections request.

    Raises:
        ConnectionValidationError: A member is unknown or invalid.
        InvalidPaginationToken: ``NextToken`` was not issued for this query.
    """
    body: Mapping[str, Any] = {} if request is None else request
    if not isinstance(body, Mapping):
        raise ConnectionValidationError("The request must be an object.")
    for key in body:
        if key not in _MEMBERS:
            raise ConnectionValidationError(
                f"{key} is not a known member; the allowed members are "
                f"{', '.join(sorted(_MEMBERS))}."
            )
    prefix = body.get("NamePrefix")
    if prefix is not None:
        prefix = parse_name(prefix, "NamePrefix")
    state = body.get("ConnectionState")
    if state is not None and state not in CONNECTION_STATES:
        raise ConnectionValidationError(
            f"ConnectionState must be one of {', '.join(CONNECTION_STATES)}."
        )
    limit = body.get("Limit", _DEFAULT_LIMIT)
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= 100:
        raise ConnectionValidationError("Limit must be a whole number from 1 to 100.")
    fingerprint = hashlib.sha256(f"{prefix or ''}\x00{state or ''}".encode()).hexdigest()[:16]
    after = _read_token(body.get("NextToken"), fingerprint)
    return ListQuery(prefix, state, limit, after, fingerprint)


def next_token(last_name: str, query: ListQuery) -> str:
    """The ``NextToken`` that continues ``query`` after ``last_name``."""
    payload = json.dumps({"v": _TOKEN_VERSION, "a": last_name, "q": query.fingerprint})
    return base64.urlsafe_b64encode(payload.encode()).decode("ascii")


def _read_token(token: object, fingerprint: str) -> str | None:
    if token is None:
        return None
    problem = (
        "NextToken is not a token returned by ListConnections for these NamePrefix and "
        "ConnectionState values: repeat the request without NextToken to start over."
    )
    if not isinstance(token, str) or not 1 <= len(token) <= 2048:
        raise InvalidPaginationToken(problem)
    try:
        payload = json.loads(base64.urlsafe_b64decode(token.encode("ascii")))
    except (binascii.Error, ValueError, UnicodeEncodeError):
        raise InvalidPaginationToken(problem) from None
    if (
        not isinstance(payload, dict)
        or payload.get("v") != _TOKEN_VERSION
        or payload.get("q") != fingerprint
        or not isinstance(payload.get("a"), str)
    ):
        raise InvalidPaginationToken(problem)
    after: str = payload["a"]
    return after
