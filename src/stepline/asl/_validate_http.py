"""The HTTP Task (``arn:aws:states:::http:invoke``): its rules, and the checks made on a definition.

The vocabulary of an HTTP Task's ``Parameters`` (JSONPath) or ``Arguments`` (JSONata) lives
here — the fields, the methods, the forbidden headers, the encodings, what an endpoint and a
connection ARN look like — because both the definition check below and the request builder in
``stepline.tasks`` apply it, and the language package must not import the task package.

Statically, a definition is checked for what is written literally: the fields present, the
method and encoding values, the header names against AWS's forbidden list, the endpoint's shape
and the connection ARN. A value computed at run time (a ``"key.$"`` entry in JSONPath, a
``"{% … %}"`` string in JSONata) is skipped here and checked by the request builder when the
state runs.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from difflib import get_close_matches
from typing import Any, Final
from urllib.parse import urlsplit

from stepline.asl._diagnostics import pointer
from stepline.asl._json import a_json_type
from stepline.asl._validate_common import (
    INVALID_RESOURCE,
    JSONATA,
    JSONPATH,
    SCHEMA_VALIDATION_FAILED,
    STEPLINE_EXTENSION,
    Context,
    Language,
    describe,
    quote_list,
)
from stepline.asl._validate_jsonata import is_expression

__all__ = [
    "ARRAY_FORMATS",
    "BODY_ENCODINGS",
    "CONNECTION_FIELDS",
    "FORBIDDEN_HEADERS",
    "FORBIDDEN_HEADER_PREFIXES",
    "HTTP_INVOKE",
    "METHODS",
    "PARAMETER_FIELDS",
    "connection_arn_problem",
    "endpoint_problem",
    "header_name_problem",
    "http_resource_suffix",
    "is_forbidden_header",
    "validate_http_task",
]

HTTP_INVOKE: Final = "arn:aws:states:::http:invoke"

METHODS: Final = ("GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "HEAD")
PARAMETER_FIELDS: Final = (
    "ApiEndpoint",
    "Method",
    "Authentication",
    "InvocationConfig",
    "Headers",
    "QueryParameters",
    "RequestBody",
    "Transform",
)
CONNECTION_FIELDS: Final = ("Authentication", "InvocationConfig")
BODY_ENCODINGS: Final = ("NONE", "URL_ENCODED")
ARRAY_FORMATS: Final = ("INDICES", "REPEAT", "COMMAS", "BRACKETS")
TRANSFORM_FIELDS: Final = ("RequestBodyEncoding", "RequestEncodingOptions")

# AWS's list of request headers a definition may not set, lower-cased (matching ignores case).
FORBIDDEN_HEADERS: Final = frozenset(
    {
        "a-im",
        "accept-charset",
        "accept-datetime",
        "accept-encoding",
        "authorization",
        "cache-control",
        "connection",
        "content-encoding",
        "content-md5",
        "date",
        "expect",
        "forwarded",
        "from",
        "host",
        "http2-settings",
        "if-match",
        "if-modified-since",
        "if-none-match",
        "if-range",
        "if-unmodified-since",
        "max-forwards",
        "origin",
        "pragma",
        "proxy-authorization",
        "referer",
        "server",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
        "via",
        "warning",
    }
)
FORBIDDEN_HEADER_PREFIXES: Final = ("x-forwarded-", "x-amz-", "x-amzn-")

_HTTP_RESOURCE: Final = re.compile(r"arn:[a-z][a-z0-9-]*:states:::http:invoke(?P<suffix>.*)", re.S)
_CONNECTION_ARN: Final = re.compile(
    r"arn:[a-z][a-z0-9-]*:events:[a-z0-9-]*:[0-9]*:connection/[.\-_A-Za-z0-9]+/[^\s/]+"
)
# RFC 9110 token characters: what a header name may consist of.
_TOKEN: Final = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_CONTROL_OR_SPACE: Final = re.compile(r"[\x00-\x20\x7f]")
_ENDPOINT_EXAMPLE: Final = "'https://api.example.com/v1/orders'"
_ARN_EXAMPLE: Final = (
    "'arn:aws:events:us-east-1:123456789012:connection/Shop/0f1e2d3c-aaaa-bbbb-cccc-1234567890ab'"
)


def is_forbidden_header(name: str) -> bool:
    """Whether AWS refuses ``name`` in a definition's ``Headers`` (case-insensitive)."""
    lowered = name.lower()
    return lowered in FORBIDDEN_HEADERS or lowered.startswith(FORBIDDEN_HEADER_PREFIXES)


def header_name_problem(name: str) -> str | None:
    """What is wrong with ``name`` as an HTTP header name, or ``None`` when it is fine."""
    if _TOKEN.fullmatch(name) is None:
        return (
            "is not a valid header name (use letters, digits and !#$%&'*+-.^_`|~, "
            "no spaces or colons)"
        )
    return None


def http_resource_suffix(resource: Any) -> str | None:
    """For an HTTP Task's ``Resource``, what follows ``http:invoke`` (``""`` normally).

    Returns:
        ``None`` when ``resource`` is not the HTTP Task's ARN at all, else the suffix
        (``".sync"``, ``".waitForTaskToken"``, or ``""``).
    """
    if not isinstance(resource, str):
        return None
    match = _HTTP_RESOURCE.fullmatch(resource)
    return None if match is None else match.group("suffix")


def endpoint_problem(url: str) -> str | None:
    """What is wrong with ``url`` as an ``ApiEndpoint``, or ``None`` when its shape is fine.

    Only the shape is checked: an absolute ``https://`` (or ``http://``) URL with a host, no
    spaces, no user information, no fragment. Whether the scheme and host may be called is the
    egress layer's decision. The URL itself is never quoted back, since it may carry a token
    in its query string.
    """
    scheme, separator, _ = url.partition("://")
    if not separator or scheme.lower() not in ("https", "http"):
        return f"must be an absolute URL that starts with 'https://', such as {_ENDPOINT_EXAMPLE}"
    if _CONTROL_OR_SPACE.search(url) is not None:
        return "must not contain spaces or control characters; percent-encode a space as %20"
    try:
        parts = urlsplit(url)
        host = parts.hostname
        parts.port  # noqa: B018 - evaluated for the ValueError a bad port raises
    except ValueError:
        return "has a malformed host or port"
    if not host:
        return f"has no host; write it as {_ENDPOINT_EXAMPLE}"
    if "@" in parts.netloc:
        return (
            "must not contain user information ('user:password@'); put credentials in the "
            "connection instead"
        )
    if "#" in url:
        return "must not contain a fragment ('#…'), which is never sent to the server"
    return None


def connection_arn_problem(arn: Any) -> str | None:
    """What is wrong with ``arn`` as a connection ARN, or ``None`` when it looks like one."""
    if not isinstance(arn, str):
        return f"must be a string, got {a_json_type(arn)}"
    if _CONNECTION_ARN.fullmatch(arn) is None:
        return f"must be an EventBridge connection ARN such as {_ARN_EXAMPLE}, got {describe(arn)}"
    return None


# --- the definition check ---------------------------------------------------------------------


def validate_http_task(
    ctx: Context, body: Mapping[Any, Any], location: str, language: Language
) -> None:
    """Check a Task state whose ``Resource`` is the HTTP Task; other Task states are ignored.

    Args:
        ctx: Where findings go.
        body: The Task state as written.
        location: Its JSON Pointer, e.g. ``/States/GetOrders``.
        language: The state's query language.
    """
    suffix = http_resource_suffix(body.get("Resource"))
    if suffix is None:
        return
    if suffix == ".waitForTaskToken":
        # The webhook pattern: post $$.Task.Token to an API that answers later through
        # SendTaskSuccess. stepline runs it; AWS documents request-response only.
        ctx.warning(
            STEPLINE_EXTENSION,
            "AWS documents only the request-response pattern for the HTTP Task; stepline "
            "also runs 'http:invoke.waitForTaskToken' (the call is made, then the state waits "
            "for SendTaskSuccess/SendTaskFailure with $$.Task.Token), but AWS may refuse this "
            f"definition. Set Resource to '{HTTP_INVOKE}' to stay portable.",
            location + "/Resource",
        )
    elif suffix:
        ctx.error(
            INVALID_RESOURCE,
            f"The HTTP Task has only the request-response pattern, so '{suffix}' cannot follow "
            f"'http:invoke'; set Resource to '{HTTP_INVOKE}'.",
            location + "/Resource",
        )
    field = "Parameters" if language == JSONPATH else "Arguments"
    if field not in body:
        other = "Arguments" if language == JSONPATH else "Parameters"
        if other not in body:  # otherwise the language mismatch is already reported
            ctx.error(
                SCHEMA_VALIDATION_FAILED,
                f"These fields are required: [{field}]; an HTTP Task needs {field} with "
                "ApiEndpoint, Method and InvocationConfig.ConnectionArn.",
                location,
            )
        return
    params = body[field]
    here = location + pointer(field)
    if language == JSONATA and is_expression(params):
        return  # the whole request is computed; the request builder checks it
    if not isinstance(params, Mapping):
        if language == JSONPATH:
            return  # the payload-template check already reports a Parameters that is no object
        ctx.error(
            SCHEMA_VALIDATION_FAILED,
            f"{field} of an HTTP Task must be a JSON object with ApiEndpoint, Method and "
            f"InvocationConfig, got {describe(params)}.",
            here,
        )
        return
    _Checker(ctx, language, field, here).check(params)


class _Checker:
    """Checks one ``Parameters``/``Arguments`` object; dynamic values are left alone."""

    __slots__ = ("ctx", "field", "language", "location")

    def __init__(self, ctx: Context, language: Language, field: str, location: str) -> None:
        self.ctx = ctx
        self.language = language
        self.field = field
        self.location = location

    def error(self, message: str, location: str) -> None:
        self.ctx.error(SCHEMA_VALIDATION_FAILED, message, location)

    def entries(
        self, obj: Mapping[Any, Any], location: str, allowed: tuple[str, ...], what: str
    ) -> dict[str, tuple[Any, bool, str]]:
        """The fields of ``obj`` by name: ``(value, dynamic, location)``; reports unknown ones."""
        found: dict[str, tuple[Any, bool, str]] = {}
        for key, value in obj.items():
            key_text = key if isinstance(key, str) else str(key)
            where = location + pointer(key_text)
            name, dynamic = key_text, False
            if self.language == JSONPATH and key_text.endswith(".$"):
                name, dynamic = key_text[:-2], True
            elif self.language == JSONATA and is_expression(value):
                dynamic = True
            if name not in allowed:
                close = get_close_matches(name, allowed, n=1, cutoff=0.75)
                advice = (
                    f"did you mean '{close[0]}'?"
                    if close
                    else f"the fields allowed are {quote_list(allowed)}."
                )
                if (
                    self.language == JSONATA
                    and key_text.endswith(".$")
                    and key_text[:-2] in allowed
                ):
                    advice = (
                        f"in a JSONata state write '{key_text[:-2]}' with a \"{{% … %}}\" "
                        "expression as its value."
                    )
                self.error(f"Field '{key_text}' is not supported in {what}; {advice}", where)
                continue
            if name in found:
                self.error(
                    f"{what} has both '{name}' and '{name}.$'; keep one.",
                    where,
                )
                continue
            found[name] = (value, dynamic, where)
        return found

    def check(self, params: Mapping[Any, Any]) -> None:
        what = f"the {self.field} of an HTTP Task"
        fields = self.entries(params, self.location, PARAMETER_FIELDS, what)
        missing = [name for name in ("ApiEndpoint", "Method") if name not in fields]
        if missing:
            self.error(
                f"These fields are required: [{', '.join(missing)}]; add "
                f"{'it' if len(missing) == 1 else 'them'} to {what}.",
                self.location,
            )
        self.connection(fields)
        if "Method" in fields:
            value, dynamic, where = fields["Method"]
            if not dynamic and value not in METHODS:
                self.error(
                    f"Method must be one of {quote_list(METHODS)} (upper case), got "
                    f"{describe(value)}.",
                    where,
                )
        if "ApiEndpoint" in fields:
            value, dynamic, where = fields["ApiEndpoint"]
            if not dynamic:
                if not isinstance(value, str):
                    self.error(f"ApiEndpoint must be a string, got {describe(value)}.", where)
                else:
                    problem = endpoint_problem(value)
                    if problem is not None:
                        self.error(f"ApiEndpoint {problem}.", where)
        if "Headers" in fields:
            self.headers(*fields["Headers"])
        if "QueryParameters" in fields:
            self.query(*fields["QueryParameters"])
        if "Transform" in fields:
            self.transform(*fields["Transform"])

    def connection(self, fields: Mapping[str, tuple[Any, bool, str]]) -> None:
        present = [name for name in CONNECTION_FIELDS if name in fields]
        if not present:
            self.error(
                f"The {self.field} of an HTTP Task need a connection: add "
                f'"InvocationConfig": {{"ConnectionArn": {_ARN_EXAMPLE.replace(chr(39), chr(34))}}}'
                " (or the older 'Authentication' with the same field).",
                self.location,
            )
            return
        if len(present) > 1:
            self.error(
                "An HTTP Task names its connection in one place: keep either 'InvocationConfig' "
                "(recommended) or 'Authentication', not both.",
                fields[present[1]][2],
            )
        for name in present:
            value, dynamic, where = fields[name]
            if dynamic:
                continue
            if not isinstance(value, Mapping):
                self.error(
                    f"{name} must be a JSON object with a ConnectionArn, got {describe(value)}.",
                    where,
                )
                continue
            inner = self.entries(value, where, ("ConnectionArn",), name)
            if "ConnectionArn" not in inner:
                self.error(f"These fields are required: [ConnectionArn]; add it to {name}.", where)
                continue
            arn, arn_dynamic, arn_where = inner["ConnectionArn"]
            if not arn_dynamic:
                problem = connection_arn_problem(arn)
                if problem is not None:
                    self.error(f"ConnectionArn {problem}.", arn_where)

    def headers(self, value: Any, dynamic: bool, where: str) -> None:
        if dynamic:
            return
        if not isinstance(value, Mapping):
            self.error(
                f"Headers must be a JSON object of header names and string values, got "
                f"{describe(value)}.",
                where,
            )
            return
        forbidden: list[str] = []
        for key, header_value in value.items():
            key_text = key if isinstance(key, str) else str(key)
            here = where + pointer(key_text)
            name, value_dynamic = key_text, False
            if self.language == JSONPATH and key_text.endswith(".$"):
                name, value_dynamic = key_text[:-2], True
            elif self.language == JSONATA and is_expression(header_value):
                value_dynamic = True
            if is_forbidden_header(name):
                forbidden.append(name.lower())
                continue
            problem = header_name_problem(name)
            if problem is not None:
                self.error(f"Header {describe(name)} {problem}.", here)
                continue
            if not value_dynamic and not _is_header_value(header_value, self.language):
                self.error(
                    f"The value of header '{name}' must be a string (or an array of strings "
                    f"for a header sent several times), got {describe(header_value)}; write a "
                    'number or boolean in quotes, e.g. "5".',
                    here,
                )
        if forbidden:
            # AWS's message, at AWS's location (the whole Parameters/Arguments object).
            self.error(
                f"The 'Headers' field contains unsupported values: [{', '.join(forbidden)}]. "
                "An HTTP Task cannot set these headers: the service sets them itself, and "
                "authorization comes from the connection; remove them.",
                self.location,
            )

    def query(self, value: Any, dynamic: bool, where: str) -> None:
        if dynamic or isinstance(value, str | Mapping):
            return
        if isinstance(value, list):
            for index, item in enumerate(value):
                if isinstance(item, str | Mapping):
                    continue
                if self.language == JSONATA and is_expression(item):
                    continue
                self.error(
                    "Each element of a QueryParameters array must be a query string such as "
                    f"'a=1&b=2' or an object of parameters, got {describe(item)}.",
                    where + pointer(index),
                )
            return
        self.error(
            "QueryParameters must be a JSON object of parameter names and values (or a query "
            f"string, or an array of those), got {describe(value)}.",
            where,
        )

    def transform(self, value: Any, dynamic: bool, where: str) -> None:
        if dynamic:
            return
        if not isinstance(value, Mapping):
            self.error(
                "Transform must be a JSON object such as "
                '{"RequestBodyEncoding": "URL_ENCODED"}, got '
                f"{describe(value)}.",
                where,
            )
            return
        fields = self.entries(value, where, TRANSFORM_FIELDS, "Transform")
        if "RequestBodyEncoding" in fields:
            encoding, encoding_dynamic, here = fields["RequestBodyEncoding"]
            if not encoding_dynamic and encoding not in BODY_ENCODINGS:
                self.error(
                    f"RequestBodyEncoding must be one of {quote_list(BODY_ENCODINGS)}, got "
                    f"{describe(encoding)}.",
                    here,
                )
        if "RequestEncodingOptions" in fields:
            options, options_dynamic, here = fields["RequestEncodingOptions"]
            if options_dynamic:
                return
            if not isinstance(options, Mapping):
                self.error(
                    'RequestEncodingOptions must be a JSON object such as {"ArrayFormat": '
                    f'"INDICES"}}, got {describe(options)}.',
                    here,
                )
                return
            inner = self.entries(options, here, ("ArrayFormat",), "RequestEncodingOptions")
            if "ArrayFormat" in inner:
                array_format, format_dynamic, format_where = inner["ArrayFormat"]
                if not format_dynamic and array_format not in ARRAY_FORMATS:
                    self.error(
                        f"ArrayFormat must be one of {quote_list(ARRAY_FORMATS)}, got "
                        f"{describe(array_format)}.",
                        format_where,
                    )


def _is_header_value(value: Any, language: Language) -> bool:
    if isinstance(value, str):
        return True
    if isinstance(value, list):
        return all(
            isinstance(item, str) or (language == JSONATA and is_expression(item)) for item in value
        )
    return False
