"""build_request: the exact request an HTTP Task sends, and the States.Runtime errors it raises."""

from __future__ import annotations

from typing import Any

import pytest
from _http_kit import ARN, ENDPOINT, SERVICE, build, connection, params, runtime_cause

from stepline._secret import Secret
from stepline.asl._errors import StatesError
from stepline.egress._messages import TlsOptions
from stepline.tasks._http_parameters import connection_arn_of, endpoint_and_method

JSON_TYPE = ("Content-Type", "application/json; charset=UTF-8")

# AWS's forbidden list, written out here so that the test pins the spec (§3.4).
FORBIDDEN = [
    "A-IM",
    "Accept-Charset",
    "Accept-Datetime",
    "Accept-Encoding",
    "Authorization",
    "Cache-Control",
    "Connection",
    "Content-Encoding",
    "Content-MD5",
    "Date",
    "Expect",
    "Forwarded",
    "From",
    "Host",
    "HTTP2-Settings",
    "If-Match",
    "If-Modified-Since",
    "If-None-Match",
    "If-Range",
    "If-Unmodified-Since",
    "Max-Forwards",
    "Origin",
    "Pragma",
    "Proxy-Authorization",
    "Referer",
    "Server",
    "TE",
    "Trailer",
    "Transfer-Encoding",
    "Upgrade",
    "Via",
    "Warning",
]
PREFIXED = ["X-Forwarded-For", "x-forwarded-host", "X-Amz-Date", "x-amz-security-token"]
PREFIXED += ["X-Amzn-Trace-Id", "X-AMZN-RequestId"]


# --- the spec's merge example (§3.5) ----------------------------------------------------------


def test_the_merge_example_gives_the_expected_request() -> None:
    conn = connection(
        authorization=(("X-Api-Key", "k-123"),),
        headers=(("X-Tier", "conn"),),
        query=(("page", "conn"),),
        body=(("source", "conn"),),
    )
    prepared = build(
        params(
            Method="POST",
            Headers={"X-Request-Id": "r-1", "X-Tier": "task"},
            RequestBody={"item": "book", "qty": 2, "source": "task"},
            QueryParameters={"page": "task"},
        ),
        conn,
    )
    request = prepared.request
    assert request.method == "POST"
    assert request.url == "https://api.example.com/orders?page=conn"
    assert request.body == b'{"item":"book","qty":2,"source":"conn"}'
    assert len(request.body) == 39
    assert sorted(request.headers) == sorted(
        [("X-Request-Id", "r-1"), ("X-Tier", "conn"), ("X-Api-Key", "k-123"), JSON_TYPE, *SERVICE]
    )
    # Order: definition headers, authorization, connection headers, service headers.
    assert list(request.headers) == [
        ("X-Request-Id", "r-1"),
        ("X-Api-Key", "k-123"),
        ("X-Tier", "conn"),
        JSON_TYPE,
        *SERVICE,
    ]


def test_a_minimal_get_has_only_the_service_headers_and_no_body() -> None:
    request = build(params()).request
    assert request.method == "GET"
    assert request.url == ENDPOINT
    assert list(request.headers) == SERVICE
    assert request.body is None


def test_region_and_window_shape_the_service_headers() -> None:
    request = build(params(), response_window_bytes=1000).request
    assert ("Range", "bytes=0-1000") in request.headers
    other = build(params()).request
    assert ("Range", "bytes=0-262144") in other.headers


def test_user_agent_names_the_region() -> None:
    from stepline.tasks._http_request import build_request

    request = build_request(params(), connection(), region="eu-west-1", state_name="S").request
    assert ("User-Agent", "Amazon|StepFunctions|HttpInvoke|eu-west-1") in request.headers


def test_connection_tls_is_carried_to_the_request() -> None:
    tls = TlsOptions(ca_bundle_pem="PEM")
    conn = connection()
    conn = type(conn)(arn=conn.arn, name=conn.name, tls=tls)
    assert build(params(), conn).request.tls is tls


@pytest.mark.parametrize("method", ["GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "HEAD"])
def test_every_method_is_sent_as_written(method: str) -> None:
    assert build(params(Method=method)).request.method == method


# --- headers -----------------------------------------------------------------------------


def test_connection_header_wins_over_the_definition_case_insensitively() -> None:
    conn = connection(headers=(("X-Tier", "conn"),))
    headers = build(params(Headers={"x-tier": "task", "X-Other": "o"}), conn).request.headers
    assert [h for h in headers if h[0].lower() == "x-tier"] == [("X-Tier", "conn")]
    assert ("X-Other", "o") in headers


def test_authorization_header_wins_over_a_definition_header_of_its_name() -> None:
    conn = connection(authorization=(("X-Api-Key", "secret-key"),))
    headers = build(params(Headers={"x-api-key": "mine"}), conn).request.headers
    assert [h for h in headers if h[0].lower() == "x-api-key"] == [("X-Api-Key", "secret-key")]


def test_authorization_wins_over_a_connection_header_of_its_name() -> None:
    conn = connection(authorization=(("Authorization", "Basic abc"),))
    conn = type(conn)(
        arn=conn.arn,
        name=conn.name,
        authorization=conn.authorization,
        headers=connection(headers=(("authorization", "other"),)).headers,
    )
    headers = build(params(), conn).request.headers
    assert [h for h in headers if h[0].lower() == "authorization"] == [
        ("Authorization", "Basic abc")
    ]


@pytest.mark.parametrize("name", ["User-Agent", "user-agent", "Range", "RANGE", "Content-Length"])
def test_service_headers_overwrite_definition_and_connection_values(name: str) -> None:
    conn = connection(headers=((name, "from-connection"),))
    headers = build(params(Headers={name: "from-definition"}), conn).request.headers
    values = [value for key, value in headers if key.lower() == name.lower()]
    assert "from-definition" not in values
    assert "from-connection" not in values
    assert len(values) == (0 if name.lower() == "content-length" else 1)


def test_a_header_array_is_sent_as_repeated_headers() -> None:
    headers = build(params(Headers={"X-Tag": ["a", "b"]})).request.headers
    assert [h for h in headers if h[0] == "X-Tag"] == [("X-Tag", "a"), ("X-Tag", "b")]


@pytest.mark.parametrize("value", [5, 2.5, True, None, {"a": "b"}, ["a", 1]])
def test_a_header_value_must_be_a_string(value: Any) -> None:
    cause = runtime_cause(params(Headers={"X-Count": value}))
    assert "Parameters.Headers.X-Count must be a string" in cause


@pytest.mark.parametrize("value", ["a\r\nX-Injected: 1", "a\nb", "a\x00b", ["ok", "a\rb"]])
def test_a_header_value_cannot_hold_line_breaks(value: Any) -> None:
    cause = runtime_cause(params(Headers={"X-Note": value}))
    assert "Parameters.Headers.X-Note contains a line break" in cause
    assert "Injected" not in cause


@pytest.mark.parametrize("name", ["Bad Name", "X:Y", "", "X-Ä"])
def test_a_header_name_must_be_a_token(name: str) -> None:
    assert "not a valid header name" in runtime_cause(params(Headers={name: "v"}))


def test_headers_must_be_an_object() -> None:
    assert "Parameters.Headers must be an object" in runtime_cause(params(Headers=["a"]))


@pytest.mark.parametrize("name", FORBIDDEN)
def test_each_forbidden_header_fails_the_task(name: str) -> None:
    for variant in (name, name.lower(), name.upper()):
        cause = runtime_cause(params(Headers={variant: "x"}))
        assert f"Parameters.Headers.{variant} is a header an HTTP Task cannot set" in cause


@pytest.mark.parametrize("name", PREFIXED)
def test_forbidden_header_prefixes_fail_the_task(name: str) -> None:
    assert "cannot set" in runtime_cause(params(Headers={name: "x"}))


@pytest.mark.parametrize("name", ["Accept", "Content-Type", "Cookie", "X-Amzing", "X-Forwarded"])
def test_headers_outside_the_list_are_allowed(name: str) -> None:
    assert (name, "v") in build(params(Headers={name: "v"})).request.headers


def test_connection_headers_are_not_subject_to_the_forbidden_list() -> None:
    conn = connection(headers=(("X-Amz-Custom", "c"),))
    assert ("X-Amz-Custom", "c") in build(params(), conn).request.headers


def test_the_field_name_in_causes_follows_the_query_language() -> None:
    cause = runtime_cause(params(Headers={"Host": "x"}), field="Arguments")
    assert "Arguments.Headers.Host" in cause


# --- content type ---------------------------------------------------------------------------


def test_a_json_body_gets_the_default_content_type() -> None:
    request = build(params(Method="POST", RequestBody={"a": 1})).request
    assert JSON_TYPE in request.headers
    assert request.body == b'{"a":1}'


def test_a_get_with_a_body_sends_it() -> None:
    request = build(params(RequestBody={"a": 1})).request
    assert request.body == b'{"a":1}'


def test_a_definition_content_type_is_kept_and_not_doubled() -> None:
    request = build(params(RequestBody={"a": 1}, Headers={"content-type": "text/x"})).request
    types = [value for key, value in request.headers if key.lower() == "content-type"]
    assert types == ["text/x"]


def test_a_connection_content_type_wins() -> None:
    conn = connection(headers=(("Content-Type", "application/vnd.x+json"),))
    request = build(params(RequestBody={"a": 1}, Headers={"Content-Type": "text/x"}), conn).request
    types = [value for key, value in request.headers if key.lower() == "content-type"]
    assert types == ["application/vnd.x+json"]


def test_no_body_means_no_content_type() -> None:
    headers = build(params(Method="POST")).request.headers
    assert all(key.lower() != "content-type" for key, _ in headers)


def test_a_null_body_is_no_body() -> None:
    request = build(params(Method="POST", RequestBody=None)).request
    assert request.body is None


def test_a_string_body_is_sent_as_raw_text() -> None:
    request = build(params(Method="POST", RequestBody="<x>é</x>")).request
    assert request.body == "<x>é</x>".encode()
    assert JSON_TYPE in request.headers


def test_url_encoded_without_a_content_type_gets_the_form_type() -> None:
    request = build(
        params(
            Method="POST",
            RequestBody={"a": "b c"},
            Transform={"RequestBodyEncoding": "URL_ENCODED"},
        )
    ).request
    assert ("Content-Type", "application/x-www-form-urlencoded") in request.headers
    assert request.body == b"a=b%20c"


# --- body merge ---------------------------------------------------------------------------


def test_connection_body_parameters_become_the_body_when_there_is_none() -> None:
    conn = connection(body=(("grant", "x"), ("scope", "y")))
    request = build(params(Method="POST"), conn).request
    assert request.body == b'{"grant":"x","scope":"y"}'
    assert JSON_TYPE in request.headers


def test_an_overwritten_body_key_keeps_its_position() -> None:
    conn = connection(body=(("a", "conn"), ("z", "new")))
    request = build(params(RequestBody={"a": 1, "b": 2}), conn).request
    assert request.body == b'{"a":"conn","b":2,"z":"new"}'


def test_a_secret_body_parameter_is_written_in_plaintext() -> None:
    conn = connection(body=(("token", Secret("t-999")),))
    assert build(params(RequestBody={}), conn).request.body == b'{"token":"t-999"}'


def test_a_string_body_with_connection_body_parameters_fails() -> None:
    conn = connection(body=(("source", Secret("hidden-value")),))
    cause = runtime_cause(params(RequestBody="raw"), conn)
    assert "Parameters.RequestBody is a string" in cause
    assert "hidden-value" not in cause


@pytest.mark.parametrize("body", [[1, 2], 5, True])
def test_a_non_object_body_with_connection_body_parameters_fails(body: Any) -> None:
    conn = connection(body=(("source", "conn"),))
    assert "can only be merged into a JSON object" in runtime_cause(params(RequestBody=body), conn)


def test_non_object_json_bodies_are_serialised() -> None:
    assert build(params(RequestBody=[1, "a"])).request.body == b'[1,"a"]'
    assert build(params(RequestBody=False)).request.body == b"false"


def test_big_integers_and_unicode_are_serialised_exactly() -> None:
    body = build(params(RequestBody={"id": 2**70, "name": "café ☕"})).request.body
    assert body == f'{{"id":{2**70},"name":"café ☕"}}'.encode()


def test_a_lone_surrogate_fails_with_a_runtime_error() -> None:
    assert "not valid Unicode" in runtime_cause(params(RequestBody={"a": "\ud800"}))
    assert "not valid Unicode" in runtime_cause(params(RequestBody="\udfff"))


def test_a_deeply_nested_body_fails_with_a_runtime_error() -> None:
    body: Any = "x"
    for _ in range(5000):
        body = {"a": body}
    cause = runtime_cause(
        params(RequestBody=body, Transform={"RequestBodyEncoding": "URL_ENCODED"})
    )
    assert "nested too deeply" in cause


# --- transform ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("transform", "expected"),
    [
        ("URL_ENCODED", "Parameters.Transform must be an object"),
        ({"Encoding": "NONE"}, "Parameters.Transform.Encoding is not supported"),
        ({"RequestBodyEncoding": "FORM"}, "must be NONE or URL_ENCODED, got 'FORM'"),
        ({"RequestBodyEncoding": 1}, "must be NONE or URL_ENCODED, got a number"),
        ({"RequestEncodingOptions": "INDICES"}, "RequestEncodingOptions must be an object"),
        ({"RequestEncodingOptions": {"Format": "X"}}, "RequestEncodingOptions.Format is not"),
        ({"RequestEncodingOptions": {"ArrayFormat": "indices"}}, "got 'indices'"),
    ],
)
def test_bad_transforms_fail(transform: Any, expected: str) -> None:
    assert expected in runtime_cause(params(RequestBody={"a": 1}, Transform=transform))


@pytest.mark.parametrize("body", [[1], 5, None])
def test_url_encoded_needs_an_object_or_string(body: Any) -> None:
    transform = {"RequestBodyEncoding": "URL_ENCODED"}
    if body is None:
        assert build(params(Transform=transform)).request.body is None
        return
    assert "URL_ENCODED needs a JSON object" in runtime_cause(
        params(RequestBody=body, Transform=transform)
    )


def test_url_encoded_string_body_is_sent_as_written() -> None:
    transform = {"RequestBodyEncoding": "URL_ENCODED"}
    body = build(params(RequestBody="a=1&b=%20", Transform=transform)).request.body
    assert body == b"a=1&b=%20"


# --- query ------------------------------------------------------------------------------------


def url_for(query: Any, conn: Any = None, endpoint: str = ENDPOINT) -> str:
    return build(params(ApiEndpoint=endpoint, QueryParameters=query), conn).request.url


def test_query_values_are_percent_encoded() -> None:
    assert url_for({"q": "a b/é", "n": 2, "ok": True, "none": None}) == (
        ENDPOINT + "?q=a%20b%2F%C3%A9&n=2&ok=true&none="
    )


def test_array_valued_query_members_repeat_the_key() -> None:
    assert url_for({"tag": ["a", "b"], "x": "1"}) == ENDPOINT + "?tag=a&tag=b&x=1"


def test_nested_query_objects_use_brackets() -> None:
    assert url_for({"filter": {"status": "open"}}) == ENDPOINT + "?filter%5Bstatus%5D=open"


def test_a_query_string_is_kept_as_written_with_unsafe_characters_encoded() -> None:
    assert url_for("a=1&b=x y&c=%2B+&d=100%") == ENDPOINT + "?a=1&b=x%20y&c=%2B+&d=100%25"
    assert url_for("?flag&&z=é") == ENDPOINT + "?flag&z=%C3%A9"


def test_a_query_array_joins_strings_and_objects() -> None:
    assert url_for(["a=1", {"b": "2 3"}]) == ENDPOINT + "?a=1&b=2%203"


@pytest.mark.parametrize("query", [5, True, [1], [["a"]]])
def test_bad_query_parameters_fail(query: Any) -> None:
    assert "Parameters.QueryParameters" in runtime_cause(params(QueryParameters=query))


def test_empty_query_parameters_leave_the_url_alone() -> None:
    assert url_for({}) == ENDPOINT
    assert url_for("") == ENDPOINT


def test_connection_query_parameters_are_appended_after_the_definitions() -> None:
    conn = connection(query=(("QueryParam1", "QueryParamValue1"),))
    assert url_for({"queryParam": "q1"}, conn) == (
        ENDPOINT + "?queryParam=q1&QueryParam1=QueryParamValue1"
    )


def test_a_connection_query_value_replaces_the_definitions_at_its_place() -> None:
    conn = connection(query=(("page", "conn"), ("k", "v w")))
    assert url_for({"a": "1", "page": ["x", "y"], "b": "2"}, conn) == (
        ENDPOINT + "?a=1&page=conn&b=2&k=v%20w"
    )


def test_a_connection_query_clash_is_found_in_a_query_string_too() -> None:
    conn = connection(query=(("a b", "conn"),))
    assert url_for("a%20b=mine&c=1", conn) == ENDPOINT + "?a%20b=conn&c=1"


def test_connection_query_parameters_alone_make_a_query() -> None:
    conn = connection(query=(("key", Secret("s3cr3t")),))
    assert url_for(None, conn) == ENDPOINT + "?key=s3cr3t"


def test_an_embedded_query_string_is_kept_and_parameters_follow_with_an_ampersand() -> None:
    assert url_for({"b": "2"}, endpoint=ENDPOINT + "?a=1") == ENDPOINT + "?a=1&b=2"
    assert url_for({"b": "2"}, endpoint=ENDPOINT + "?") == ENDPOINT + "?b=2"
    assert url_for(None, endpoint=ENDPOINT + "?a=1") == ENDPOINT + "?a=1"


# --- endpoint, method, unknown fields ----------------------------------------------------------


@pytest.mark.parametrize(
    ("endpoint", "expected"),
    [
        (5, "must be a string"),
        ("/orders", "must be an absolute URL"),
        ("api.example.com/orders", "must be an absolute URL"),
        ("ftp://api.example.com/x", "must be an absolute URL"),
        ("https://", "has no host"),
        ("https:///path", "has no host"),
        ("https://api.example.com/a b", "must not contain spaces"),
        ("https://api.example.com/\n", "must not contain spaces"),
        ("https://user:pw@api.example.com/", "must not contain user information"),
        ("https://api.example.com/#frag", "must not contain a fragment"),
        ("https://api.example.com:99999/", "has a malformed host or port"),
        ("https://api.example.com:abc/", "has a malformed host or port"),
    ],
)
def test_a_bad_endpoint_fails(endpoint: Any, expected: str) -> None:
    cause = runtime_cause(params(ApiEndpoint=endpoint))
    assert f"Parameters.ApiEndpoint {expected}" in cause
    assert "pw@" not in cause


def test_a_missing_endpoint_or_method_fails() -> None:
    assert "Parameters.ApiEndpoint is missing" in runtime_cause(params(ApiEndpoint=None))
    assert "Parameters.Method is missing" in runtime_cause(params(Method=None))


@pytest.mark.parametrize(
    ("method", "shown"),
    [("get", "'get'"), ("CONNECT", "'CONNECT'"), ("TRACE", "'TRACE'"), (5, "a number")],
)
def test_a_bad_method_fails(method: Any, shown: str) -> None:
    cause = runtime_cause(params(Method=method))
    assert (
        "Parameters.Method must be one of GET, POST, PUT, DELETE, PATCH, OPTIONS, HEAD "
        f"(upper case), got {shown}" in cause
    )


def test_http_endpoints_and_ports_are_accepted_in_shape() -> None:
    assert url_for(None, endpoint="http://127.0.0.1:8080/x") == "http://127.0.0.1:8080/x"
    assert url_for(None, endpoint="https://[::1]:8443/x") == "https://[::1]:8443/x"


def test_non_ascii_endpoints_are_encoded() -> None:
    assert url_for(None, endpoint="https://bücher.example/straße?q=ä") == (
        "https://xn--bcher-kva.example/stra%C3%9Fe?q=%C3%A4"
    )


def test_unknown_fields_fail() -> None:
    assert "Parameters.Body is not a field of an HTTP Task" in runtime_cause(params(Body={}))


@pytest.mark.parametrize("value", [None, [], "x", 5])
def test_parameters_must_be_an_object(value: Any) -> None:
    assert "Parameters must evaluate to a JSON object" in runtime_cause(value)


def test_endpoint_and_method_returns_what_will_be_sent() -> None:
    assert endpoint_and_method(params(Method="PUT"), "S") == (ENDPOINT, "PUT")
    with pytest.raises(StatesError, match=r"Arguments\.Method"):
        endpoint_and_method(params(Method="put"), "S", field="Arguments")


# --- the connection ARN -------------------------------------------------------------------------


def test_the_connection_arn_comes_from_either_container() -> None:
    assert connection_arn_of(params(), "S") == ARN
    legacy = params(InvocationConfig=None, Authentication={"ConnectionArn": ARN})
    assert connection_arn_of(legacy, "S") == ARN


@pytest.mark.parametrize(
    ("parameters", "expected"),
    [
        (params(InvocationConfig=None), "names no connection"),
        (params(Authentication={"ConnectionArn": ARN}), "has both Authentication and Invocation"),
        (params(InvocationConfig=ARN), "InvocationConfig must be an object"),
        (params(InvocationConfig={}), "InvocationConfig.ConnectionArn is missing"),
        (params(InvocationConfig={"ConnectionArn": 5}), "must be a string, got a number"),
        (params(InvocationConfig={"ConnectionArn": "Shop"}), "must be an EventBridge connection"),
        (
            params(InvocationConfig={"ConnectionArn": ARN, "Region": "x"}),
            "InvocationConfig.Region is not a supported field",
        ),
        ([], "must evaluate to a JSON object"),
    ],
)
def test_a_bad_connection_reference_fails(parameters: Any, expected: str) -> None:
    with pytest.raises(StatesError) as caught:
        connection_arn_of(parameters, "Call API")
    assert caught.value.error == "States.Runtime"
    assert expected in caught.value.cause
    assert "'Call API'" in caught.value.cause


def test_the_prepared_request_repr_shows_no_secret() -> None:
    conn = connection(authorization=(("Authorization", "Basic c2VjcmV0"),), query=(("k", "v"),))
    prepared = build(params(), conn)
    assert "c2VjcmV0" not in repr(prepared)
    assert "k=v" not in repr(prepared)
