"""Http1Transport's request side without a network: URL splitting, target encoding, the head."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from stepline.egress import EgressFailed, EgressRefused, EgressSettings, HttpRequest
from stepline.egress._http1 import _CLEAN_TARGET, Http1Transport
from stepline.egress._settings import parse_allow

SECRET = "s3cr3t-token-value"
TRANSPORT = Http1Transport(EgressSettings(allow=parse_allow("127.0.0.0/8,::1")))


def head(request: HttpRequest) -> bytes:
    origin, target = TRANSPORT._split(request.url)
    data, tail = TRANSPORT._encode(request, origin, target)
    assert tail is None
    return data


@pytest.mark.parametrize(
    ("url", "host_line", "target"),
    [
        ("http://127.0.0.1:8080/a?b=1", "Host: 127.0.0.1:8080", "/a?b=1"),
        ("http://127.0.0.1:80/a", "Host: 127.0.0.1", "/a"),
        ("https://[::1]:8443", "Host: [::1]:8443", "/"),
        ("HTTPS://Example.COM/x#frag", "Host: example.com", "/x"),
        ("https://bücher.example/ü", "Host: xn--bcher-kva.example", "/%C3%BC"),
        ("https://example.com?q", "Host: example.com", "/?q"),
    ],
)
def test_urls_split_into_host_line_and_target(url: str, host_line: str, target: str) -> None:
    origin, got = TRANSPORT._split(url)
    assert origin.host_line == host_line + "\r\n"
    assert got == target


def test_the_head_is_exactly_the_request() -> None:
    request = HttpRequest(
        "POST",
        "http://127.0.0.1:9000/v1?x=1",
        (("B", "2"), ("a", "1"), ("a", "3"), ("Content-Length", "99"), ("host", "evil")),
        b"body",
    )
    assert head(request) == (
        b"POST /v1?x=1 HTTP/1.1\r\nHost: 127.0.0.1:9000\r\nB: 2\r\na: 1\r\na: 3\r\n"
        b"Content-Length: 4\r\n\r\nbody"
    )


@pytest.mark.parametrize(
    ("method", "body", "length"),
    [
        ("GET", None, None),
        ("HEAD", None, None),
        ("OPTIONS", None, None),
        ("DELETE", None, b"0"),
        ("POST", None, b"0"),
        ("PATCH", b"", b"0"),
        ("GET", b"x", b"1"),
    ],
)
def test_content_length_rules(method: str, body: bytes | None, length: bytes | None) -> None:
    data = head(HttpRequest(method, "http://127.0.0.1/", body=body))
    lines = data.split(b"\r\n")
    found = [line.split(b": ")[1] for line in lines if line.startswith(b"Content-Length")]
    assert found == ([] if length is None else [length])


def test_large_bodies_are_written_after_the_head() -> None:
    request = HttpRequest("PUT", "http://127.0.0.1/", body=b"x" * 100_000)
    origin, target = TRANSPORT._split(request.url)
    data, tail = TRANSPORT._encode(request, origin, target)
    assert data.endswith(b"Content-Length: 100000\r\n\r\n") and tail == request.body


@pytest.mark.parametrize(
    "headers",
    [(("X", f"{SECRET}\r\nY: 1"),), (("X", "\n"),), (("X", "\0"),), (("X", "\ud800"),)],
)
def test_bad_header_values_are_refused_by_name_only(headers: tuple[tuple[str, str], ...]) -> None:
    with pytest.raises(EgressFailed) as caught:
        head(HttpRequest("GET", "http://127.0.0.1/", headers))
    assert "'X'" in str(caught.value) and SECRET not in str(caught.value)


@pytest.mark.parametrize("method", ["GE T", "GET\r\n", "", "GÉT"])
def test_bad_methods_are_refused(method: str) -> None:
    with pytest.raises(EgressFailed):
        head(HttpRequest(method, "http://127.0.0.1/"))


@pytest.mark.parametrize(
    "url",
    [
        "/relative",
        "127.0.0.1/no-scheme",
        f"http:///{SECRET}",
        f"http://127.0.0.1:99999/{SECRET}",
        f"http://[::1/{SECRET}",
        f"http://u:{SECRET}@127.0.0.1/",
        f"gopher://127.0.0.1/{SECRET}",
    ],
)
def test_unusable_urls_are_refused_without_quoting_them(url: str) -> None:
    with pytest.raises(EgressRefused) as caught:
        TRANSPORT._split(url)
    assert SECRET not in str(caught.value)


@given(st.text(max_size=40))
def test_any_target_comes_out_clean_or_is_refused(tail: str) -> None:
    try:
        _, target = TRANSPORT._split("http://127.0.0.1/" + tail)
    except EgressRefused as refused:
        assert "control character" in str(refused)
        assert any(ch < " " or ch == "\x7f" for ch in tail.partition("#")[0])
        return
    assert _CLEAN_TARGET.fullmatch(target)
    assert target.startswith("/") and "#" not in target


@given(st.from_regex(_CLEAN_TARGET, fullmatch=True))
def test_clean_targets_are_sent_unchanged(tail: str) -> None:
    _, target = TRANSPORT._split("http://127.0.0.1/" + tail)
    assert target == "/" + tail
