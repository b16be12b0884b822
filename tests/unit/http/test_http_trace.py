"""TestState's view of the request: masked connection data unless secrets are revealed."""

from __future__ import annotations

from _http_kit import ENDPOINT, build, connection, params

from stepline._secret import MASK, Secret

SECRETS = ["Basic dXNlcjpzM2NyM3Q=", "hdr-secret-1", "qry-secret-2", "body-secret-3"]
PLAIN_CONNECTION_VALUES = ["conn-tier", "conn-page", "conn-source"]


def secret_connection():  # type: ignore[no-untyped-def]
    return connection(
        authorization=(("Authorization", SECRETS[0]),),
        headers=(("X-Hdr-Key", Secret(SECRETS[1])), ("X-Tier", "conn-tier")),
        query=(("api_key", Secret(SECRETS[2])), ("page", "conn-page")),
        body=(("token", Secret(SECRETS[3])), ("source", "conn-source")),
    )


def prepared(**fields):  # type: ignore[no-untyped-def]
    defaults = {
        "Method": "POST",
        "Headers": {"X-Request-Id": "r-1"},
        "QueryParameters": {"q": "mine", "page": "task"},
        "RequestBody": {"item": "book", "source": "task"},
    }
    defaults.update(fields)
    return build(params(**defaults), secret_connection())


def test_the_masked_trace_contains_no_connection_value() -> None:
    trace = prepared().trace(reveal_secrets=False)
    text = repr(trace)
    for value in SECRETS + PLAIN_CONNECTION_VALUES:
        assert value not in text
    assert set(trace) == {"protocol", "method", "url", "headers", "body"}
    assert all(isinstance(value, str) for value in trace.values())


def test_the_masked_trace_shows_keys_definition_values_and_masks() -> None:
    trace = prepared().trace(reveal_secrets=False)
    assert trace["protocol"] == "https"
    assert trace["method"] == "POST"
    assert trace["url"] == f"{ENDPOINT}?q=mine&page={MASK}&api_key={MASK}"
    assert trace["headers"] == (
        f"[X-Request-Id: r-1, Authorization: {MASK}, X-Hdr-Key: {MASK}, X-Tier: {MASK}, "
        "Content-Type: application/json; charset=UTF-8, "
        "User-Agent: Amazon|StepFunctions|HttpInvoke|us-east-1, Range: bytes=0-262144]"
    )
    assert trace["body"] == f'{{"item":"book","source":"{MASK}","token":"{MASK}"}}'


def test_the_revealed_trace_is_the_request_as_sent() -> None:
    request = prepared()
    trace = request.trace(reveal_secrets=True)
    assert trace["url"] == request.request.url
    assert trace["url"] == f"{ENDPOINT}?q=mine&page=conn-page&api_key=qry-secret-2"
    assert trace["headers"].startswith(
        "[X-Request-Id: r-1, Authorization: Basic dXNlcjpzM2NyM3Q=, X-Hdr-Key: hdr-secret-1, "
        "X-Tier: conn-tier, "
    )
    assert trace["body"] == ('{"item":"book","source":"conn-source","token":"body-secret-3"}')


def test_a_form_body_is_masked_after_encoding() -> None:
    request = prepared(Transform={"RequestBodyEncoding": "URL_ENCODED"})
    masked = request.trace(reveal_secrets=False)["body"]
    assert masked == f"item=book&source={MASK}&token={MASK}"
    assert "secret" not in masked
    assert request.trace(reveal_secrets=True)["body"] == (
        "item=book&source=conn-source&token=body-secret-3"
    )


def test_a_request_without_connection_data_is_shown_as_sent() -> None:
    request = build(params(ApiEndpoint="http://127.0.0.1:8080/x", QueryParameters={"a": "1"}))
    trace = request.trace(reveal_secrets=False)
    assert trace == request.trace(reveal_secrets=True)
    assert trace["protocol"] == "http"
    assert trace["url"] == "http://127.0.0.1:8080/x?a=1"
    assert trace["body"] == ""
    assert trace["headers"] == (
        "[User-Agent: Amazon|StepFunctions|HttpInvoke|us-east-1, Range: bytes=0-262144]"
    )


def test_a_string_body_is_shown_as_sent() -> None:
    trace = build(params(RequestBody="hello")).trace(reveal_secrets=False)
    assert trace["body"] == "hello"
