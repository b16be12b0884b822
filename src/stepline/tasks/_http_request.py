"""The HTTP Task's request: from effective parameters and a resolved connection to the exact bytes.

Pure and synchronous. :func:`build_request` checks the parameters a state computed (the static
ones were checked with the definition, see ``stepline.asl._validate_http``), merges what the
connection adds — its headers, query and body parameters win on a clash — adds the
authorization and the service headers, and serialises the body. The result is a
:class:`PreparedRequest`: the plaintext :class:`~stepline.egress.HttpRequest` to send, and,
built only when TestState asks, the request as ``inspectionData`` shows it, with everything the
connection added masked unless secrets are to be revealed.

Header order on the wire and in the trace is AWS's observed one: the definition's headers, the
authorization, the connection's headers, then the service headers (``Content-Type`` when
defaulted, ``User-Agent``, ``Range``).

This runs once per HTTP call on the engine's hot path, so it avoids copies of what it does not
change and leaves the trace for later.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Final
from urllib.parse import quote, urlsplit, urlunsplit

from stepline._secret import MASK
from stepline.asl._errors import RUNTIME, StatesError
from stepline.asl._json import a_json_type, dumps_bytes, dumps_text
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
from stepline.connections._resolved import InvocationParameter, ResolvedConnection
from stepline.egress._messages import HttpRequest
from stepline.tasks._http_encoding import (
    encode_component,
    flatten,
    form_encode,
    preformed_query_segments,
    segment_name,
)

__all__ = [
    "DEFAULT_RESPONSE_WINDOW_BYTES",
    "PreparedRequest",
    "build_request",
    "connection_arn_of",
    "endpoint_and_method",
]

DEFAULT_RESPONSE_WINDOW_BYTES: Final = 262_144

JSON_CONTENT_TYPE: Final = "application/json; charset=UTF-8"
FORM_CONTENT_TYPE: Final = "application/x-www-form-urlencoded"

_FIELDS: Final = frozenset(PARAMETER_FIELDS)
_METHODS: Final = frozenset(METHODS)
_METHOD_LIST: Final = ", ".join(METHODS)
# Headers the service sets itself: a value from the definition or the connection is dropped.
_SERVICE_HEADERS: Final = frozenset({"user-agent", "range", "content-length"})
# Printable ASCII: what an endpoint keeps as written; anything else is percent-encoded.
_URL_SAFE: Final = "".join(chr(code) for code in range(0x21, 0x7F))
_FORM_MASK_TOKEN: Final = "stepline-masked-value-8f3c2a"
_HEADER_VALUE_FORBIDDEN: Final = frozenset(chr(code) for code in range(0x20) if code != 0x09) | {
    "\x7f"
}


def _failure(state_name: str, message: str) -> StatesError:
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
        raise _failure(
            state_name,
            f"{field} must evaluate to a JSON object with ApiEndpoint, Method and "
            f"InvocationConfig, got {a_json_type(parameters)}.",
        )
    return parameters


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
        raise _failure(state_name, f"{field}.ApiEndpoint is missing; set it to the API's URL.")
    endpoint = params["ApiEndpoint"]
    if type(endpoint) is not str:
        raise _failure(
            state_name,
            f"{field}.ApiEndpoint must be a string such as 'https://api.example.com/v1/orders', "
            f"got {a_json_type(endpoint)}.",
        )
    problem, url = _checked_endpoint(endpoint)
    if problem is not None:
        raise _failure(state_name, f"{field}.ApiEndpoint {problem}.")
    if "Method" not in params:
        raise _failure(state_name, f"{field}.Method is missing; set it to one of {_METHOD_LIST}.")
    method = params["Method"]
    if type(method) is not str or method not in _METHODS:
        raise _failure(
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
        raise _failure(
            state_name,
            f"{field} names no connection; add InvocationConfig.ConnectionArn with the ARN of "
            "an EventBridge connection.",
        )
    if len(present) > 1:
        raise _failure(
            state_name,
            f"{field} has both Authentication and InvocationConfig; keep one "
            "(InvocationConfig is the recommended one).",
        )
    name = present[0]
    container = params[name]
    if type(container) is not dict:
        raise _failure(
            state_name,
            f"{field}.{name} must be an object with a ConnectionArn, got {a_json_type(container)}.",
        )
    for key in container:
        if key != "ConnectionArn":
            raise _failure(
                state_name,
                f"{field}.{name}.{key} is not a supported field; {name} holds only ConnectionArn.",
            )
    if "ConnectionArn" not in container:
        raise _failure(state_name, f"{field}.{name}.ConnectionArn is missing; add it.")
    arn = container["ConnectionArn"]
    problem = connection_arn_problem(arn)
    if problem is not None:
        raise _failure(state_name, f"{field}.{name}.ConnectionArn {problem}.")
    return str(arn)


# --- the prepared request --------------------------------------------------------------------


@dataclass(frozen=True, slots=True, repr=False)
class PreparedRequest:
    """A request ready to send, and the recipe for showing it with the connection's data masked.

    Attributes:
        request: The plaintext request (connection applied, body serialised).
    """

    request: HttpRequest
    # Headers [start, stop) of request.headers came from the connection.
    _masked_headers: tuple[int, int] = (0, 0)
    # The URL up to the query string, and each query segment with its masked form (None for
    # the definition's own segments); empty when the URL has no merged query.
    _query_base: str = ""
    _query: tuple[tuple[str, str | None], ...] = ()
    # The merged body before serialisation, the keys the connection set in it, and the form
    # array format (None for a JSON body); used only to mask the trace.
    _body: Any = None
    _body_keys: tuple[str, ...] = ()
    _form_format: str | None = None

    def __repr__(self) -> str:
        # The request holds plaintext credentials: show only what is safe.
        scheme, _, rest = self.request.url.partition("://")
        host = rest.split("/", 1)[0].split("?", 1)[0]
        return f"PreparedRequest({self.request.method} {scheme}://{host}/…)"

    def trace(self, reveal_secrets: bool) -> dict[str, str]:
        """The request as TestState's ``inspectionData.request`` shows it.

        Args:
            reveal_secrets: Show the values the connection added (authorization, connection
                headers, query and body parameters); otherwise each is replaced by a mask.

        Returns:
            ``{protocol, method, url, headers, body}``, all strings.
        """
        request = self.request
        url = request.url
        headers = request.headers
        body = request.body
        body_text = "" if body is None else body.decode("utf-8", "replace")
        if not reveal_secrets:
            start, stop = self._masked_headers
            if start != stop:
                masked = tuple((name, MASK) for name, _ in headers[start:stop])
                headers = headers[:start] + masked + headers[stop:]
            if any(masked_segment is not None for _, masked_segment in self._query):
                url = self._query_base + "&".join(
                    segment if masked_segment is None else masked_segment
                    for segment, masked_segment in self._query
                )
            if self._body_keys:
                masked_body = dict(self._body)
                if self._form_format is None:
                    for key in self._body_keys:
                        masked_body[key] = MASK
                    body_text = dumps_text(masked_body)
                else:
                    # The mask's '*' would be escaped; encode a token that is not, then swap.
                    for key in self._body_keys:
                        masked_body[key] = _FORM_MASK_TOKEN
                    body_text = form_encode(masked_body, self._form_format).replace(
                        _FORM_MASK_TOKEN, MASK
                    )
        return {
            "protocol": url.partition(":")[0].lower(),
            "method": request.method,
            "url": url,
            "headers": "[" + ", ".join(f"{name}: {value}" for name, value in headers) + "]",
            "body": body_text,
        }


# --- building ----------------------------------------------------------------------------------


def build_request(
    parameters: Any,
    connection: ResolvedConnection,
    *,
    region: str,
    state_name: str,
    response_window_bytes: int = DEFAULT_RESPONSE_WINDOW_BYTES,
    field: str = "Parameters",
) -> PreparedRequest:
    """Turn an HTTP Task's effective parameters and its connection into the request to send.

    Args:
        parameters: The effective ``Parameters`` (JSONPath) or ``Arguments`` (JSONata).
        connection: The connection, resolved for this call.
        region: The state machine's region, for ``User-Agent``.
        state_name: The state, for messages.
        response_window_bytes: The last byte offset asked for in ``Range: bytes=0-<n>``.
        field: ``Parameters`` or ``Arguments``, for messages.

    Returns:
        The prepared request.

    Raises:
        StatesError: ``States.Runtime`` for anything the parameters get wrong (unknown field,
            bad endpoint or method, forbidden or malformed header, bad query parameters or
            transform, a string body where the connection adds body parameters); the cause
            names the state and the field, never a value.
    """
    params = _parameters(parameters, state_name, field)
    for key in params:
        if key not in _FIELDS:
            raise _failure(
                state_name,
                f"{field}.{key} is not a field of an HTTP Task; the fields are "
                f"{', '.join(PARAMETER_FIELDS)}.",
            )
    endpoint, method = endpoint_and_method(params, state_name, field=field)
    encoding, array_format = _transform(params.get("Transform"), state_name, field)

    try:
        body_value, body_keys = _merged_body(
            params.get("RequestBody"), connection, state_name, field
        )
        body = _serialise(body_value, encoding, array_format, state_name, field)
        query_base, query = _query(
            params.get("QueryParameters"), connection, endpoint, state_name, field
        )
    except (RecursionError, UnicodeError) as exc:
        what = "nested too deeply" if isinstance(exc, RecursionError) else "not valid Unicode"
        raise _failure(
            state_name,
            f"{field}.RequestBody or {field}.QueryParameters is {what} to be encoded; "
            "simplify the value.",
        ) from None

    headers, masked, has_content_type = _headers(
        params.get("Headers"), connection, state_name, field
    )
    if body is not None and not has_content_type:
        headers.append(
            ("Content-Type", FORM_CONTENT_TYPE if encoding == "URL_ENCODED" else JSON_CONTENT_TYPE)
        )
    headers.append(("User-Agent", f"Amazon|StepFunctions|HttpInvoke|{region}"))
    headers.append(("Range", f"bytes=0-{response_window_bytes}"))

    url = query_base + "&".join(segment for segment, _ in query) if query else endpoint
    return PreparedRequest(
        HttpRequest(method, url, tuple(headers), body, connection.tls),
        masked,
        query_base,
        query,
        body_value if body_keys else None,
        body_keys,
        array_format if encoding == "URL_ENCODED" else None,
    )


def _transform(transform: Any, state_name: str, field: str) -> tuple[str, str]:
    """``(RequestBodyEncoding, ArrayFormat)``, defaults ``NONE`` and ``INDICES``."""
    if transform is None:
        return "NONE", "INDICES"
    where = f"{field}.Transform"
    if type(transform) is not dict:
        raise _failure(
            state_name,
            f'{where} must be an object such as {{"RequestBodyEncoding": "URL_ENCODED"}}, got '
            f"{a_json_type(transform)}.",
        )
    for key in transform:
        if key not in TRANSFORM_FIELDS:
            raise _failure(
                state_name,
                f"{where}.{key} is not supported; Transform holds RequestBodyEncoding and "
                "RequestEncodingOptions.",
            )
    encoding = transform.get("RequestBodyEncoding", "NONE")
    if encoding not in BODY_ENCODINGS:
        raise _failure(
            state_name,
            f"{where}.RequestBodyEncoding must be NONE or URL_ENCODED, got {_shown(encoding)}.",
        )
    options = transform.get("RequestEncodingOptions")
    if options is None:
        return encoding, "INDICES"
    if type(options) is not dict:
        raise _failure(
            state_name,
            f'{where}.RequestEncodingOptions must be an object such as {{"ArrayFormat": '
            f'"INDICES"}}, got {a_json_type(options)}.',
        )
    for key in options:
        if key != "ArrayFormat":
            raise _failure(
                state_name,
                f"{where}.RequestEncodingOptions.{key} is not supported; it holds only "
                "ArrayFormat.",
            )
    array_format = options.get("ArrayFormat", "INDICES")
    if array_format not in ARRAY_FORMATS:
        raise _failure(
            state_name,
            f"{where}.RequestEncodingOptions.ArrayFormat must be one of "
            f"{', '.join(ARRAY_FORMATS)}, got {_shown(array_format)}.",
        )
    return encoding, array_format


def _headers(
    definition: Any, connection: ResolvedConnection, state_name: str, field: str
) -> tuple[list[tuple[str, str]], tuple[int, int], bool]:
    """The headers before the service's, which of them came from the connection, and whether
    one of them is a ``Content-Type``."""
    authorization = connection.authorization
    connection_headers = connection.headers
    headers: list[tuple[str, str]] = []
    has_content_type = False
    if definition is not None:
        if type(definition) is not dict:
            raise _failure(
                state_name,
                f"{field}.Headers must be an object of header names and string values, got "
                f"{a_json_type(definition)}.",
            )
        if definition:
            overridden = set(_SERVICE_HEADERS)
            overridden.update(p.key.lower() for p in authorization)
            overridden.update(p.key.lower() for p in connection_headers)
            for name, value in definition.items():
                _check_header(name, value, state_name, field)
                lowered = name.lower()
                if lowered in overridden:
                    continue  # the connection's (or the service's) value wins
                if lowered == "content-type":
                    has_content_type = True
                if type(value) is str:
                    headers.append((name, value))
                else:
                    headers.extend((name, item) for item in value)
    start = len(headers)
    if authorization or connection_headers:
        taken = set(_SERVICE_HEADERS)
        for parameter in authorization:
            lowered = parameter.key.lower()
            taken.add(lowered)
            has_content_type = has_content_type or lowered == "content-type"
            headers.append((parameter.key, parameter.plaintext()))
        for parameter in connection_headers:
            lowered = parameter.key.lower()
            if lowered in taken:
                continue  # the authorization (or the service) sets this header
            if lowered == "content-type":
                has_content_type = True
            headers.append((parameter.key, parameter.plaintext()))
    return headers, (start, len(headers)), has_content_type


def _check_header(name: str, value: Any, state_name: str, field: str) -> None:
    where = f"{field}.Headers.{name}"
    if is_forbidden_header(name):
        raise _failure(
            state_name,
            f"{where} is a header an HTTP Task cannot set (the service sets it, or the "
            "connection supplies it); remove it, and put credentials in the connection.",
        )
    problem = header_name_problem(name)
    if problem is not None:
        raise _failure(state_name, f"{field}.Headers has a key that {problem}.")
    if type(value) is str:
        if not _HEADER_VALUE_FORBIDDEN.isdisjoint(value):
            raise _failure(
                state_name,
                f"{where} contains a line break or control character; remove it.",
            )
        return
    if type(value) is list and all(type(item) is str for item in value):
        for item in value:
            if not _HEADER_VALUE_FORBIDDEN.isdisjoint(item):
                raise _failure(
                    state_name,
                    f"{where} contains a line break or control character; remove it.",
                )
        return
    raise _failure(
        state_name,
        f"{where} must be a string (or an array of strings, sent as repeated headers), got "
        f"{a_json_type(value)}; convert it, e.g. with States.Format('{{}}', …) or $string(…).",
    )


def _merged_body(
    body: Any, connection: ResolvedConnection, state_name: str, field: str
) -> tuple[Any, tuple[str, ...]]:
    """The body with the connection's body parameters added, and the keys they set."""
    parameters = connection.body
    if not parameters:
        return body, ()
    if body is None:
        merged: dict[str, Any] = {}
    elif type(body) is dict:
        merged = dict(body)  # an overwritten key keeps its place
    elif type(body) is str:
        raise _failure(
            state_name,
            f"{field}.RequestBody is a string, and the connection adds body parameters, which "
            "can only be merged into a JSON object; make RequestBody an object, or remove the "
            "connection's body parameters.",
        )
    else:
        raise _failure(
            state_name,
            f"{field}.RequestBody is {a_json_type(body)}, and the connection adds body parameters, "
            "which can only be merged into a JSON object; make RequestBody an object.",
        )
    for parameter in parameters:
        merged[parameter.key] = parameter.plaintext()
    return merged, tuple(dict.fromkeys(parameter.key for parameter in parameters))


def _serialise(
    body: Any, encoding: str, array_format: str, state_name: str, field: str
) -> bytes | None:
    if body is None:
        return None
    if type(body) is str:
        return body.encode("utf-8")  # sent as written, not as a JSON string
    if encoding == "NONE":
        try:
            return dumps_bytes(body)
        except UnicodeError:
            raise  # reported by the caller, with the recursion case
        except (TypeError, ValueError):
            raise _failure(
                state_name, f"{field}.RequestBody cannot be serialised as JSON."
            ) from None
    if type(body) is not dict:
        raise _failure(
            state_name,
            f"{field}.RequestBody is {a_json_type(body)}, but URL_ENCODED needs a JSON object "
            "(or a string that is already form-encoded).",
        )
    return form_encode(body, array_format).encode("ascii")


def _query(
    query: Any, connection: ResolvedConnection, endpoint: str, state_name: str, field: str
) -> tuple[str, tuple[tuple[str, str | None], ...]]:
    """The URL before the query segments, and each segment with its masked form."""
    segments = _definition_segments(query, state_name, field) if query is not None else []
    parameters = connection.query
    if not segments and not parameters:
        return endpoint, ()
    if "?" not in endpoint:
        base = endpoint + "?"
    elif endpoint.endswith(("?", "&")):
        base = endpoint
    else:
        base = endpoint + "&"  # the endpoint's own query string stays as written, first
    if not parameters:
        return base, tuple((segment, None) for segment in segments)
    by_name: dict[str, list[InvocationParameter]] = {}
    for parameter in parameters:
        by_name.setdefault(parameter.key, []).append(parameter)
    merged: list[tuple[str, str | None]] = []
    placed: set[str] = set()
    for segment in segments:
        name = segment_name(segment)
        if name not in by_name:
            merged.append((segment, None))
        elif name not in placed:
            # The connection's value replaces the definition's, at the definition's place.
            placed.add(name)
            merged.extend(_connection_segment(parameter) for parameter in by_name[name])
    for parameter in parameters:
        if parameter.key not in placed:
            merged.append(_connection_segment(parameter))
    return base, tuple(merged)


def _connection_segment(parameter: InvocationParameter) -> tuple[str, str]:
    key = encode_component(parameter.key)
    return f"{key}={encode_component(parameter.plaintext())}", f"{key}={MASK}"


def _definition_segments(query: Any, state_name: str, field: str) -> list[str]:
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
                segments.extend(_definition_segments(item, state_name, field))
            else:
                raise _failure(
                    state_name,
                    f"{field}.QueryParameters is an array holding {a_json_type(item)}; each "
                    "element must be a query string such as 'a=1&b=2' or an object of parameters.",
                )
        return segments
    raise _failure(
        state_name,
        f"{field}.QueryParameters must be an object of names and values (or a query string, or "
        f"an array of those), got {a_json_type(query)}.",
    )
