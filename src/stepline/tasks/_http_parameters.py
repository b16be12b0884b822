"""The HTTP Task's parameters as a state computed them: read, and checked field by field.

The static parameters were checked with the definition (``stepline.asl._validate_http``); these
checks cover what only a running state knows. Every problem is a ``States.Runtime`` failure whose
cause names the state and the field (``Parameters`` in JSONPath, ``Arguments`` in JSONata) and
says what to write instead, never a value that could be a secret. ``_http_request`` merges what
these return with the connection and serialises the request.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any, Final
from urllib.parse import quote, urlsplit, urlunsplit

from stepline.asl._errors import RUNTIME, StatesError
from stepline.asl._json import a_json_type
from stepline.asl._validate_http import (
    ARRAY_FORMATS,
    BODY_ENCODINGS,
    CONNECTION_FIELDS,
    METHODS,
    PARAMETER_FIELDS,
    TRANSFORM_FIELDS,
    connection_arn_problem,
    endpoint_problem,
    header_name_problem,
    is_forbidden_header,
)
from stepline.tasks._http_encoding import flatten, preformed_query_segments

__all__ = [
    "body_transform",
    "check_header",
    "checked_parameters",
    "connection_arn_of",
    "definition_query_segments",
    "endpoint_and_method",
    "request_failure",
]

_FIELDS: Final = frozenset(PARAMETER_FIELDS)
_METHODS: Final = frozenset(METHODS)
_METHOD_LIST: Final = ", ".join(METHODS)
# Printable ASCII: what an endpoint keeps as written; anything else is percent-encoded.
_URL_SAFE: Final = "".join(chr(code) for code in range(0x21, 0x7F))
_HEADER_VALUE_FORBIDDEN: Final = frozenset(chr(code) for code in range(0x20) if code != 0x09) | {
    "\x7f"
}


def request_failure(state_name: str, message: str) -> StatesError:
    """The ``States.Runtime`` failure of a request that cannot be sent, naming the state."""
    return StatesError(
        RUNTIME, f"The HTTP Task state '{state_name}' cannot send its request: {message}"
    )


def _shown(value: Any) -> str:
    """An enum-like value as written when it is a short word, else only its type."""
    if isinstance(value, str) and len(value) <= 20 and value.replace("_", "").isalnum():
        return repr(value)
    return a_json_type(value)


def _parameters(parameters: Any, state_name: str, field: str) -> dict[str, Any]:
    if type(parameters) is not dict:
        raise request_failure(
            state_name,
            f"{field} must evaluate to a JSON object with ApiEndpoint, Method and "
            f"InvocationConfig, got {a_json_type(parameters)}.",
        )
    return parameters


def checked_parameters(parameters: Any, state_name: str, field: str) -> dict[str, Any]:
    """The effective parameters, checked to be an object holding only HTTP Task fields.

    Raises:
        StatesError: ``States.Runtime``, naming the field.
    """
    params = _parameters(parameters, state_name, field)
    for key in params:
        if key not in _FIELDS:
            raise request_failure(
                state_name,
                f"{field}.{key} is not a field of an HTTP Task; the fields are "
                f"{', '.join(PARAMETER_FIELDS)}.",
            )
    return params


# --- endpoint, method, connection ----------------------------------------------------------


@lru_cache(maxsize=1024)
def _checked_endpoint(url: str) -> tuple[str | None, str]:
    """``(problem, url to send)``: the shape check, and non-ASCII characters encoded."""
    problem = endpoint_problem(url)
    if problem is not None or url.isascii():
        return problem, url
    parts = urlsplit(url)
    host = parts.hostname or ""
    try:
        ascii_host = host.encode("idna").decode("ascii")
    except UnicodeError:
        return "has a host name that is not a valid international domain name", url
    if ":" in host:
        ascii_host = f"[{ascii_host}]"
    netloc = ascii_host if parts.port is None else f"{ascii_host}:{parts.port}"
    path = quote(parts.path, safe=_URL_SAFE)
    query = quote(parts.query, safe=_URL_SAFE)
    return None, urlunsplit((parts.scheme, netloc, path, query, ""))


def endpoint_and_method(
    parameters: Any, state_name: str, *, field: str = "Parameters"
) -> tuple[str, str]:
    """The validated ``ApiEndpoint`` (as it will be sent) and ``Method``.

    The caller uses them for the ``states:InvokeHTTPEndpoint`` check before it resolves the
    connection. The endpoint is returned without the ``QueryParameters``.

    Args:
        parameters: The effective ``Parameters``/``Arguments``.
        state_name: The state, for messages.
        field: ``Parameters`` (JSONPath) or ``Arguments`` (JSONata), for messages.

    Raises:
        StatesError: ``States.Runtime``, naming the field and what to write instead.
    """
    params = _parameters(parameters, state_name, field)
    if "ApiEndpoint" not in params:
        raise request_failure(
            state_name, f"{field}.ApiEndpoint is missing; set it to the API's URL."
        )
    endpoint = params["ApiEndpoint"]
    if type(endpoint) is not str:
        raise request_failure(
            state_name,
            f"{field}.ApiEndpoint must be a string such as 'https://api.example.com/v1/orders', "
            f"got {a_json_type(endpoint)}.",
        )
    problem, url = _checked_endpoint(endpoint)
    if problem is not None:
        raise request_failure(state_name, f"{field}.ApiEndpoint {problem}.")
    if "Method" not in params:
        raise request_failure(
            state_name, f"{field}.Method is missing; set it to one of {_METHOD_LIST}."
        )
    method = params["Method"]
    if type(method) is not str or method not in _METHODS:
        raise request_failure(
            state_name,
            f"{field}.Method must be one of {_METHOD_LIST} (upper case), got {_shown(method)}.",
        )
    return url, method


def connection_arn_of(parameters: Any, state_name: str, *, field: str = "Parameters") -> str:
    """The connection ARN, from exactly one of ``InvocationConfig`` and ``Authentication``.

    Raises:
        StatesError: ``States.Runtime`` when neither or both name a connection, or the ARN is
            not a connection ARN.
    """
    params = _parameters(parameters, state_name, field)
    present = [name for name in CONNECTION_FIELDS if name in params]
    if not present:
        raise request_failure(
            state_name,
            f"{field} names no connection; add InvocationConfig.ConnectionArn with the ARN of "
            "an EventBridge connection.",
        )
    if len(present) > 1:
        raise request_failure(
            state_name,
            f"{field} has both Authentication and InvocationConfig; keep one "
            "(InvocationConfig is the recommended one).",
        )
    name = present[0]
    container = params[name]
    if type(container) is not dict:
        raise request_failure(
            state_name,
            f"{field}.{name} must be an object with a ConnectionArn, got {a_json_type(container)}.",
        )
    for key in container:
        if key != "ConnectionArn":
            raise request_failure(
                state_name,
                f"{field}.{name}.{key} is not a supported field; {name} holds only ConnectionArn.",
            )
    if "ConnectionArn" not in container:
        raise request_failure(state_name, f"{field}.{name}.ConnectionArn is missing; add it.")
    arn = container["ConnectionArn"]
    problem = connection_arn_problem(arn)
    if problem is not None:
        raise request_failure(state_name, f"{field}.{name}.ConnectionArn {problem}.")
    return str(arn)


# --- transform, headers, query ------------------------------------------------------------


def body_transform(transform: Any, state_name: str, field: str) -> tuple[str, str]:
    """``(RequestBodyEncoding, ArrayFormat)``, defaults ``NONE`` and ``INDICES``."""
    if transform is None:
        return "NONE", "INDICES"
    where = f"{field}.Transform"
    if type(transform) is not dict:
        raise request_failure(
            state_name,
            f'{where} must be an object such as {{"RequestBodyEncoding": "URL_ENCODED"}}, got '
            f"{a_json_type(transform)}.",
        )
    for key in transform:
        if key not in TRANSFORM_FIELDS:
            raise request_failure(
                state_name,
                f"{where}.{key} is not supported; Transform holds RequestBodyEncoding and "
                "RequestEncodingOptions.",
            )
    encoding = transform.get("RequestBodyEncoding", "NONE")
    if encoding not in BODY_ENCODINGS:
        raise request_failure(
            state_name,
            f"{where}.RequestBodyEncoding must be NONE or URL_ENCODED, got {_shown(encoding)}.",
        )
    options = transform.get("RequestEncodingOptions")
    if options is None:
        return encoding, "INDICES"
    if type(options) is not dict:
        raise request_failure(
            state_name,
            f'{where}.RequestEncodingOptions must be an object such as {{"ArrayFormat": '
            f'"INDICES"}}, got {a_json_type(options)}.',
        )
    for key in options:
        if key != "ArrayFormat":
            raise request_failure(
                state_name,
                f"{where}.RequestEncodingOptions.{key} is not supported; it holds only "
                "ArrayFormat.",
            )
    array_format = options.get("ArrayFormat", "INDICES")
    if array_format not in ARRAY_FORMATS:
        raise request_failure(
            state_name,
            f"{where}.RequestEncodingOptions.ArrayFormat must be one of "
            f"{', '.join(ARRAY_FORMATS)}, got {_shown(array_format)}.",
        )
    return encoding, array_format


def check_header(name: str, value: Any, state_name: str, field: str) -> None:
    where = f"{field}.Headers.{name}"
    if is_forbidden_header(name):
        raise request_failure(
            state_name,
            f"{where} is a header an HTTP Task cannot set (the service sets it, or the "
            "connection supplies it); remove it, and put credentials in the connection.",
        )
    problem = header_name_problem(name)
    if problem is not None:
        raise request_failure(state_name, f"{field}.Headers has a key that {problem}.")
    if type(value) is str:
        if not _HEADER_VALUE_FORBIDDEN.isdisjoint(value):
            raise request_failure(
                state_name,
                f"{where} contains a line break or control character; remove it.",
            )
        return
    if type(value) is list and all(type(item) is str for item in value):
        for item in value:
            if not _HEADER_VALUE_FORBIDDEN.isdisjoint(item):
                raise request_failure(
                    state_name,
                    f"{where} contains a line break or control character; remove it.",
                )
        return
    raise request_failure(
        state_name,
        f"{where} must be a string (or an array of strings, sent as repeated headers), got "
        f"{a_json_type(value)}; convert it, e.g. with States.Format('{{}}', …) or $string(…).",
    )


def definition_query_segments(query: Any, state_name: str, field: str) -> list[str]:
    if type(query) is dict:
        return [
            f"{key}={value}"
            for name, member in query.items()
            for key, value in flatten(member, name, "REPEAT")
        ]
    if type(query) is str:
        return preformed_query_segments(query)
    if type(query) is list:
        segments: list[str] = []
        for item in query:
            if type(item) is str:
                segments.extend(preformed_query_segments(item))
            elif type(item) is dict:
                segments.extend(definition_query_segments(item, state_name, field))
            else:
                raise request_failure(
                    state_name,
                    f"{field}.QueryParameters is an array holding {a_json_type(item)}; each "
                    "element must be a query string such as 'a=1&b=2' or an object of parameters.",
                )
        return segments
    raise request_failure(
        state_name,
        f"{field}.QueryParameters must be an object of names and values (or a query string, or "
        f"an array of those), got {a_json_type(query)}.",
    )
