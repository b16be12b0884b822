"""Properties of the HTTP Task core over generated inputs.

* Any JSON as parameters, with any connection: build_request returns a request or raises
  StatesError, nothing else; the masked trace never holds a connection value.
* Flat form bodies decode back to what was encoded.
* Any response: read_response returns a result or raises StatesError.
* Any Parameters/Arguments in an HTTP Task: validation returns diagnostics that point at nodes
  that exist, and never raises.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl

from _http_kit import ARN, connection
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_http_validate import diagnostics, machine

from stepline._secret import Secret
from stepline.asl._errors import StatesError
from stepline.asl._validate_http import ARRAY_FORMATS, METHODS, PARAMETER_FIELDS
from stepline.egress._messages import HttpResponse
from stepline.tasks._http_encoding import form_encode
from stepline.tasks._http_request import build_request
from stepline.tasks._http_response import read_response

SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**80), max_value=2**80)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=12)
)
json_values = st.recursive(
    scalars,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=12,
)
field_values = {
    "ApiEndpoint": st.sampled_from(
        ["https://api.example.com/x", "http://127.0.0.1:1/p?q=1", "https://bücher.example/ä"]
    )
    | json_values,
    "Method": st.sampled_from(METHODS) | json_values,
    "InvocationConfig": st.just({"ConnectionArn": ARN}) | json_values,
    "Authentication": json_values,
    "Headers": st.dictionaries(st.text(max_size=10), st.text(max_size=10) | json_values, max_size=4)
    | json_values,
    "QueryParameters": json_values,
    "RequestBody": json_values,
    "Transform": st.fixed_dictionaries(
        {
            "RequestBodyEncoding": st.sampled_from(["NONE", "URL_ENCODED"]),
            "RequestEncodingOptions": st.fixed_dictionaries(
                {"ArrayFormat": st.sampled_from(ARRAY_FORMATS)}
            ),
        }
    )
    | json_values,
}


@st.composite
def parameters(draw: st.DrawFn) -> Any:
    if draw(st.integers(0, 9)) == 0:
        return draw(json_values)
    chosen = draw(st.sets(st.sampled_from(PARAMETER_FIELDS)))
    built = {name: draw(field_values[name]) for name in PARAMETER_FIELDS if name in chosen}
    if draw(st.booleans()):
        built.setdefault("ApiEndpoint", "https://api.example.com/x")
        built.setdefault("Method", "POST")
    if draw(st.integers(0, 5)) == 0:
        built[draw(st.text(max_size=6))] = draw(json_values)
    return built


SECRET = "SECRET-7c1e"
secret_values = st.text(
    alphabet=st.characters(min_codepoint=0x21, max_codepoint=0x7E), max_size=6
).map(lambda tail: SECRET + tail)
parameter_lists = st.lists(
    st.tuples(st.text(alphabet="abcXYZ-_", min_size=1, max_size=6), secret_values), max_size=3
)


def contains_secret(value: Any) -> bool:
    return SECRET in repr(value)


@SETTINGS
@given(parameters(), parameter_lists, parameter_lists, parameter_lists, parameter_lists)
def test_build_request_returns_or_raises_states_error(
    params: Any, auth: Any, headers: Any, query: Any, body: Any
) -> None:
    conn = connection(
        authorization=tuple(auth),
        headers=tuple((k, Secret(v)) for k, v in headers),
        query=tuple(query),
        body=tuple(body),
    )
    try:
        prepared = build_request(params, conn, region="us-east-1", state_name="S")
    except StatesError as error:
        assert error.error == "States.Runtime"
        assert SECRET not in error.cause
        return
    assert SECRET not in repr(prepared)
    masked = prepared.trace(reveal_secrets=False)
    if not contains_secret(params):
        assert SECRET not in repr(masked)
    revealed = prepared.trace(reveal_secrets=True)
    assert revealed["url"] == prepared.request.url
    assert all(isinstance(value, str) for value in (*masked.values(), *revealed.values()))


@SETTINGS
@given(st.dictionaries(st.text(min_size=1, max_size=10), st.text(max_size=10), max_size=6))
def test_flat_forms_decode_to_what_was_encoded(body: dict[str, str]) -> None:
    encoded = form_encode(body, "INDICES")
    assert "+" not in encoded and " " not in encoded
    assert parse_qsl(encoded, keep_blank_values=True) == list(body.items())


@SETTINGS
@given(
    st.integers(100, 599),
    st.binary(max_size=64),
    st.sampled_from(
        [
            None,
            "application/json",
            "text/plain; charset=latin-1",
            "image/png",
            "x/y+json",
            "text/plain; charset=bogus",
            "application/json; charset=utf-16",
        ]
    ),
    st.booleans(),
)
def test_read_response_returns_or_raises_states_error(
    status: int, body: bytes, content_type: str | None, truncated: bool
) -> None:
    headers = (("Content-Type", content_type),) if content_type else ()
    response = HttpResponse(status, "", headers, body, truncated=truncated)
    try:
        result = read_response(response, state_name="S")
    except StatesError as error:
        assert error.error.startswith(("States.Http.StatusCode.", "States.Runtime", "States.Data"))
        return
    assert 200 <= status <= 299
    assert list(result) == ["Headers", "ResponseBody", "StatusCode", "StatusText"]


def resolves(definition: Any, location: str) -> bool:
    node = definition
    for raw in location.split("/")[1:]:
        part = raw.replace("~1", "/").replace("~0", "~")
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            return False
    return True


@SETTINGS
@given(parameters(), st.sampled_from(["JSONPath", "JSONata"]))
def test_validation_of_any_parameters_never_raises(params: Any, language: str) -> None:
    definition = machine(params, language)
    for diagnostic in diagnostics(definition):
        assert resolves(definition, diagnostic.location), diagnostic
