"""The HTTP Task's request: from effective parameters and a resolved connection to the exact bytes.

Pure and synchronous. :func:`build_request` checks the parameters a state computed (with
``_http_parameters``; the static ones were checked with the definition), merges what the
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
from typing import Any, Final

from stepline._secret import MASK
from stepline.asl._json import a_json_type, dumps_bytes, dumps_text
from stepline.connections._resolved import InvocationParameter, ResolvedConnection
from stepline.egress._messages import HttpRequest
from stepline.tasks._http_encoding import encode_component, form_encode, segment_name
from stepline.tasks._http_parameters import (
    body_transform,
    check_header,
    checked_parameters,
    definition_query_segments,
    endpoint_and_method,
    request_failure,
)

__all__ = ["DEFAULT_RESPONSE_WINDOW_BYTES", "PreparedRequest", "build_request"]

DEFAULT_RESPONSE_WINDOW_BYTES: Final = 262_144

JSON_CONTENT_TYPE: Final = "application/json; charset=UTF-8"
FORM_CONTENT_TYPE: Final = "application/x-www-form-urlencoded"

# Headers the service sets itself: a value from the definition or the connection is dropped.
_SERVICE_HEADERS: Final = frozenset({"user-agent", "range", "content-length"})
_FORM_MASK_TOKEN: Final = "stepline-masked-value-8f3c2a"


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
    params = checked_parameters(parameters, state_name, field)
    endpoint, method = endpoint_and_method(params, state_name, field=field)
    encoding, array_format = body_transform(params.get("Transform"), state_name, field)

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
        raise request_failure(
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
            raise request_failure(
                state_name,
                f"{field}.Headers must be an object of header names and string values, got "
                f"{a_json_type(definition)}.",
            )
        if definition:
            overridden = set(_SERVICE_HEADERS)
            overridden.update(p.key.lower() for p in authorization)
            overridden.update(p.key.lower() for p in connection_headers)
            for name, value in definition.items():
                check_header(name, value, state_name, field)
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
        raise request_failure(
            state_name,
            f"{field}.RequestBody is a string, and the connection adds body parameters, which "
            "can only be merged into a JSON object; make RequestBody an object, or remove the "
            "connection's body parameters.",
        )
    else:
        raise request_failure(
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
            raise request_failure(
                state_name, f"{field}.RequestBody cannot be serialised as JSON."
            ) from None
    if type(body) is not dict:
        raise request_failure(
            state_name,
            f"{field}.RequestBody is {a_json_type(body)}, but URL_ENCODED needs a JSON object "
            "(or a string that is already form-encoded).",
        )
    return form_encode(body, array_format).encode("ascii")


def _query(
    query: Any, connection: ResolvedConnection, endpoint: str, state_name: str, field: str
) -> tuple[str, tuple[tuple[str, str | None], ...]]:
    """The URL before the query segments, and each segment with its masked form."""
    segments = definition_query_segments(query, state_name, field) if query is not None else []
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
