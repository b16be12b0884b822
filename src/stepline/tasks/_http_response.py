"""The HTTP Task's response: from what the server sent to the task result, or to AWS's error.

Pure and synchronous. :func:`read_response` makes the task result AWS documents::

    {"Headers": {"content-type": ["application/json"], ...},
     "ResponseBody": <parsed JSON, or the text>, "StatusCode": 200, "StatusText": "OK"}

or raises the error a Retry/Catch would see: ``States.Http.StatusCode.<code>`` for any status
outside 2xx (the cause is the reason phrase, as AWS reportedly gives), ``States.Runtime`` for a
body that is binary or not text in its charset, ``States.DataLimitExceeded`` for a body larger
than the response window. :func:`response_trace` is TestState's view of the same response and
:func:`retry_after_seconds` reads a ``Retry-After`` for whoever schedules the next attempt.
"""

from __future__ import annotations

import codecs
import json
import re
from email.utils import parsedate_to_datetime
from http import HTTPStatus
from typing import Any, Final

import orjson

from stepline.asl._errors import DATA_LIMIT_EXCEEDED, RUNTIME, StatesError
from stepline.egress._messages import HttpResponse

__all__ = [
    "WINDOW_ENVIRONMENT_VARIABLE",
    "read_response",
    "reason_phrase",
    "response_trace",
    "retry_after_seconds",
]

WINDOW_ENVIRONMENT_VARIABLE: Final = "STEPLINE_HTTP_RESPONSE_WINDOW_BYTES"

_BINARY_PREFIXES: Final = ("image/", "video/", "audio/")
# A run of digits this long may be an integer orjson would turn into a float.
_LONG_NUMBER: Final = re.compile(r"[0-9]{19}")
_CONTENT_RANGE: Final = re.compile(r"\s*bytes\s+(\d+)-(\d+)/(\d+|\*)\s*", re.IGNORECASE)
_PHRASES: Final = {status.value: status.phrase for status in HTTPStatus}


def reason_phrase(response: HttpResponse) -> str:
    """The reason phrase the server sent, or the standard one for the code (HTTP/2 has none)."""
    return response.reason or _PHRASES.get(response.status, "")


def _header(response: HttpResponse, lowered_name: str) -> str | None:
    for name, value in response.headers:
        if name.lower() == lowered_name:
            return value
    return None


def _media_type(content_type: str | None) -> tuple[str, str | None]:
    """``(media type lower-cased, charset or None)`` of a ``Content-Type`` value."""
    if not content_type:
        return "", None
    media, _, rest = content_type.partition(";")
    charset = None
    if rest:
        for parameter in rest.split(";"):
            name, _, value = parameter.partition("=")
            if name.strip().lower() == "charset":
                charset = value.strip().strip('"').strip()
    return media.strip().lower(), charset


def _window_exceeded(response: HttpResponse) -> bool:
    """Whether the body is only part of what the server has: cut by the transport, or a 206
    whose ``Content-Range`` says the whole is longer than what came."""
    if response.truncated:
        return True
    if response.status != 206:
        return False
    content_range = _header(response, "content-range")
    if content_range is None:
        return False
    match = _CONTENT_RANGE.fullmatch(content_range)
    if match is None:
        return False
    end, total = int(match.group(2)), match.group(3)
    return total == "*" or int(total) > end + 1


def _parse_json(text: str) -> Any:
    """The JSON value of a body's text, or the text unchanged when it is not JSON."""
    if _LONG_NUMBER.search(text) is None:
        try:
            return orjson.loads(text)
        except orjson.JSONDecodeError:
            return text
    try:
        # Exact: big integers stay integers; NaN and Infinity are not JSON.
        return json.loads(text, parse_constant=_reject_constant)
    except (ValueError, RecursionError):
        return text


def _reject_constant(name: str) -> Any:
    raise ValueError(name)


def read_response(response: HttpResponse, *, state_name: str, method: str = "GET") -> Any:
    """The task result for a response, or the error AWS raises for it.

    Args:
        response: The response as received.
        state_name: The state, for messages.
        method: The request's method; a ``HEAD`` response has no body.

    Returns:
        ``{"Headers", "ResponseBody", "StatusCode", "StatusText"}``, in that key order.

    Raises:
        StatesError: ``States.Http.StatusCode.<code>`` (cause: the reason phrase) for a status
            outside 2xx; ``States.DataLimitExceeded`` when the body is longer than the response
            window; ``States.Runtime`` for a binary content type or a body that is not text.
    """
    status = response.status
    if not 200 <= status <= 299:
        raise StatesError(f"States.Http.StatusCode.{status}", reason_phrase(response))
    if _window_exceeded(response):
        raise StatesError(
            DATA_LIMIT_EXCEEDED,
            f"The response to the HTTP Task state '{state_name}' is larger than the response "
            f"window of {len(response.body)} bytes, so it cannot become the task result. Ask "
            "the API for less (a page size, a filter), or raise the window with the "
            f"{WINDOW_ENVIRONMENT_VARIABLE} setting.",
        )
    headers: dict[str, list[str]] = {}
    for name, value in response.headers:
        lowered = name.lower()
        values = headers.get(lowered)
        if values is None:
            headers[lowered] = [value]
        else:
            values.append(value)
    content_type = headers.get("content-type")
    media, charset = _media_type(content_type[0] if content_type else None)
    if media == "application/octet-stream" or media.startswith(_BINARY_PREFIXES):
        raise StatesError(
            RUNTIME,
            f"The HTTP Task state '{state_name}' received a response with Content-Type "
            f"'{media}', which a task result cannot hold (only text and JSON can); call an "
            "endpoint that returns JSON or text, for example a URL to the file or its base64.",
        )
    body = response.body
    response_body: Any = ""
    if body and method != "HEAD":
        text = _decode(body, charset, state_name)
        if media == "application/json" or (media.endswith("+json") and "/" in media):
            response_body = _parse_json(text) if text.strip() else text
        else:
            response_body = text
    return {
        "Headers": headers,
        "ResponseBody": response_body,
        "StatusCode": status,
        "StatusText": reason_phrase(response),
    }


def _decode(body: bytes, charset: str | None, state_name: str) -> str:
    encoding = charset or "utf-8"
    if encoding.lower().replace("_", "-") in ("utf-8", "utf8") and body.startswith(codecs.BOM_UTF8):
        body = body[len(codecs.BOM_UTF8) :]
    try:
        # bytes.decode accepts only text encodings (not 'base64', 'zlib', …).
        return body.decode(encoding)
    except LookupError:
        raise StatesError(
            RUNTIME,
            f"The HTTP Task state '{state_name}' received a response in the charset "
            f"{encoding[:40]!r}, which stepline cannot decode; ask the API for UTF-8.",
        ) from None
    except UnicodeDecodeError:
        raise StatesError(
            RUNTIME,
            f"The HTTP Task state '{state_name}' received a body that is not valid "
            f"{encoding[:40]} text (binary content cannot become a task result); call an "
            "endpoint that returns JSON or text, or fix the charset in its Content-Type.",
        ) from None


def response_trace(response: HttpResponse, *, protocol: str = "https") -> dict[str, str]:
    """The response as TestState's ``inspectionData.response`` shows it (never masked).

    Args:
        response: The response as received.
        protocol: The scheme the request used.

    Returns:
        ``{protocol, statusCode, statusMessage, headers, body}``, all strings; header names
        lower-cased as in the task result, the body decoded as text (undecodable bytes
        replaced).
    """
    _, charset = _media_type(_header(response, "content-type"))
    try:
        body = response.body.decode(charset or "utf-8", "replace")
    except (LookupError, UnicodeError):
        body = response.body.decode("utf-8", "replace")
    return {
        "protocol": protocol,
        "statusCode": str(response.status),
        "statusMessage": reason_phrase(response),
        "headers": "["
        + ", ".join(f"{name.lower()}: {value}" for name, value in response.headers)
        + "]",
        "body": body,
    }


def retry_after_seconds(response: HttpResponse, now: float) -> float | None:
    """Seconds a 429 or 503 response asks the client to wait, from ``Retry-After``.

    Args:
        response: The response.
        now: The current time, in seconds since the epoch (for the HTTP-date form).

    Returns:
        The delay (never negative), or ``None`` for other statuses, or when the header is
        absent or unreadable.
    """
    if response.status not in (429, 503):
        return None
    value = _header(response, "retry-after")
    if value is None:
        return None
    value = value.strip()
    if value.isdigit() and value.isascii():
        return float(int(value))
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if moment.tzinfo is None:
        return None  # HTTP-dates are GMT; a date without a zone is not one
    return max(0.0, moment.timestamp() - now)
