"""read_response, response_trace and retry_after_seconds: AWS's task result and errors."""

from __future__ import annotations

from datetime import UTC, datetime
from email.utils import format_datetime
from typing import Any

import pytest

from stepline.asl._errors import StatesError
from stepline.egress._messages import HttpResponse
from stepline.tasks._http_response import read_response, response_trace, retry_after_seconds


def response(
    body: bytes = b"",
    content_type: str | None = "application/json",
    status: int = 200,
    reason: str = "OK",
    headers: tuple[tuple[str, str], ...] = (),
    **options: Any,
) -> HttpResponse:
    all_headers = ((("Content-Type", content_type),) if content_type else ()) + headers
    return HttpResponse(status=status, reason=reason, headers=all_headers, body=body, **options)


def result(resp: HttpResponse, **options: Any) -> Any:
    return read_response(resp, state_name="Call API", **options)


def error(resp: HttpResponse, **options: Any) -> StatesError:
    with pytest.raises(StatesError) as caught:
        result(resp, **options)
    return caught.value


def test_a_json_response_becomes_the_task_result_in_awss_shape() -> None:
    resp = response(
        b'{"id":"ord_42","ok":true}',
        headers=(("Date", "Mon, 06 Jan 2025 10:00:00 GMT"), ("Server", "example-server")),
    )
    value = result(resp)
    assert value == {
        "Headers": {
            "content-type": ["application/json"],
            "date": ["Mon, 06 Jan 2025 10:00:00 GMT"],
            "server": ["example-server"],
        },
        "ResponseBody": {"id": "ord_42", "ok": True},
        "StatusCode": 200,
        "StatusText": "OK",
    }
    assert list(value) == ["Headers", "ResponseBody", "StatusCode", "StatusText"]


@pytest.mark.parametrize(
    "content_type",
    [
        "application/json; charset=utf-8",
        "Application/JSON",
        "application/problem+json",
        "application/vnd.api+json; charset=UTF-8",
    ],
)
def test_json_media_types_are_parsed(content_type: str) -> None:
    assert result(response(b'[1,{"a":null}]', content_type))["ResponseBody"] == [1, {"a": None}]


@pytest.mark.parametrize("content_type", ["text/plain", "text/html", None, "application/xml"])
def test_other_media_types_stay_text(content_type: str | None) -> None:
    assert result(response(b'{"a":1}', content_type))["ResponseBody"] == '{"a":1}'


@pytest.mark.parametrize("body", [b"{not json", b"NaN", b"[1,", b'{"a":Infinity}', b'"a'])
def test_invalid_json_with_a_json_type_stays_text(body: bytes) -> None:
    assert result(response(body))["ResponseBody"] == body.decode()


def test_big_integers_in_json_stay_exact() -> None:
    big = 2**70
    assert result(response(b'{"n":%d}' % big))["ResponseBody"] == {"n": big}
    assert result(response(b"[12345678901234567890123, 1.5]"))["ResponseBody"] == [
        12345678901234567890123,
        1.5,
    ]


def test_a_utf8_bom_is_dropped() -> None:
    assert result(response(b'\xef\xbb\xbf{"a":1}'))["ResponseBody"] == {"a": 1}


@pytest.mark.parametrize("body", [b"", b"   "])
def test_an_empty_body_is_the_empty_string_or_its_text(body: bytes) -> None:
    assert result(response(body))["ResponseBody"] == body.decode()


def test_a_head_response_has_an_empty_body() -> None:
    assert result(response(b'{"a":1}'), method="HEAD")["ResponseBody"] == ""


def test_multi_valued_headers_keep_every_value_in_order() -> None:
    resp = response(
        b"{}",
        headers=(("Set-Cookie", "a=1"), ("X-Multi", "x"), ("set-cookie", "b=2")),
    )
    headers = result(resp)["Headers"]
    assert headers["set-cookie"] == ["a=1", "b=2"]
    assert list(headers) == ["content-type", "set-cookie", "x-multi"]


def test_the_charset_parameter_decodes_the_text() -> None:
    resp = response("café".encode("latin-1"), 'text/plain; charset="ISO-8859-1"')
    assert result(resp)["ResponseBody"] == "café"
    utf16 = response('{"a":"é"}'.encode("utf-16"), "application/json; charset=utf-16")
    assert result(utf16)["ResponseBody"] == {"a": "é"}


@pytest.mark.parametrize("charset", ["klingon", "base64", "zlib"])
def test_an_unknown_charset_fails(charset: str) -> None:
    failure = error(response(b"abc", f"text/plain; charset={charset}"))
    assert failure.error == "States.Runtime"
    assert "cannot decode" in failure.cause
    assert "'Call API'" in failure.cause


def test_bytes_that_are_not_text_fail() -> None:
    failure = error(response(b"\xff\xfe\x00\x81", "text/plain"))
    assert failure.error == "States.Runtime"
    assert "not valid utf-8 text" in failure.cause


@pytest.mark.parametrize(
    "content_type",
    [
        "application/octet-stream",
        "image/png",
        "IMAGE/JPEG; q=1",
        "video/mp4",
        "audio/mpeg",
    ],
)
def test_binary_content_types_fail(content_type: str) -> None:
    failure = error(response(b"GIF89a", content_type))
    assert failure.error == "States.Runtime"
    assert "which a task result cannot hold" in failure.cause


@pytest.mark.parametrize(
    ("status", "reason"),
    [
        (404, "Not Found"),
        (429, "Too Many Requests"),
        (503, "Service Unavailable"),
        (302, "Found"),
        (101, "Switching Protocols"),
        (500, "Internal Server Error"),
        (400, "Bad Request"),
    ],
)
def test_statuses_outside_2xx_raise_the_status_error_with_the_reason(
    status: int, reason: str
) -> None:
    failure = error(response(b'{"detail":"body is discarded"}', status=status, reason=reason))
    assert failure.error == f"States.Http.StatusCode.{status}"
    assert failure.cause == reason


def test_a_missing_reason_phrase_is_the_standard_one() -> None:
    assert error(response(status=404, reason="")).cause == "Not Found"
    assert result(response(b"{}", status=201, reason=""))["StatusText"] == "Created"
    assert error(response(status=599, reason="")).cause == ""


def test_a_custom_reason_phrase_is_kept() -> None:
    assert result(response(b"{}", reason="Fine"))["StatusText"] == "Fine"
    assert error(response(status=418, reason="Teapot")).cause == "Teapot"


@pytest.mark.parametrize("status", [200, 204, 206, 299])
def test_every_2xx_is_a_result(status: int) -> None:
    assert result(response(b"", status=status))["StatusCode"] == status


def test_a_truncated_body_exceeds_the_data_limit() -> None:
    failure = error(response(b"x" * 100, "text/plain", truncated=True))
    assert failure.error == "States.DataLimitExceeded"
    assert "100 bytes" in failure.cause
    assert "STEPLINE_HTTP_RESPONSE_WINDOW_BYTES" in failure.cause


def test_a_partial_206_exceeds_the_data_limit_and_a_whole_one_does_not() -> None:
    partial = response(
        b"abc", "text/plain", status=206, headers=(("Content-Range", "bytes 0-2/10"),)
    )
    assert error(partial).error == "States.DataLimitExceeded"
    whole = response(b"abc", "text/plain", status=206, headers=(("Content-Range", "bytes 0-2/3"),))
    assert result(whole)["ResponseBody"] == "abc"


def test_a_status_error_wins_over_truncation() -> None:
    failure = error(response(b"x", status=500, reason="Oops", truncated=True))
    assert failure.error == "States.Http.StatusCode.500"


def test_the_response_trace() -> None:
    resp = response(
        b'{"a":"\xc3\xa9"}', headers=(("Date", "d"), ("Content-Length", "12")), reason="OK"
    )
    assert response_trace(resp) == {
        "protocol": "https",
        "statusCode": "200",
        "statusMessage": "OK",
        "headers": "[content-type: application/json, date: d, content-length: 12]",
        "body": '{"a":"é"}',
    }
    binary = response(b"\xff", "image/png; charset=nonsense", status=404, reason="")
    trace = response_trace(binary, protocol="http")
    assert trace["protocol"] == "http"
    assert trace["statusMessage"] == "Not Found"
    assert trace["body"] == "\ufffd"


def test_retry_after_in_seconds() -> None:
    resp = response(status=429, reason="", headers=(("Retry-After", " 120 "),))
    assert retry_after_seconds(resp, now=0.0) == 120.0


def test_retry_after_as_an_http_date() -> None:
    moment = datetime(2030, 1, 1, 12, 0, 0, tzinfo=UTC)
    header = (("retry-after", format_datetime(moment, usegmt=True)),)
    resp = response(status=503, headers=header)
    assert retry_after_seconds(resp, now=moment.timestamp() - 30) == 30.0
    assert retry_after_seconds(resp, now=moment.timestamp() + 30) == 0.0


@pytest.mark.parametrize(
    ("status", "headers"),
    [
        (200, (("Retry-After", "5"),)),
        (500, (("Retry-After", "5"),)),
        (429, ()),
        (429, (("Retry-After", "soon"),)),
        (429, (("Retry-After", "-5"),)),
        (503, (("Retry-After", "1.5"),)),
        (503, (("Retry-After", "Wed, 01 Jan 2030 12:00:00 -0000"),)),
    ],
)
def test_retry_after_is_none_when_absent_unreadable_or_not_asked(
    status: int, headers: tuple[tuple[str, str], ...]
) -> None:
    assert retry_after_seconds(response(status=status, headers=headers), now=0.0) is None
