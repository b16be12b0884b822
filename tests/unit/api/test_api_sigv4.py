"""SigV4 verification checked against botocore's own signer (botocore.auth.SigV4Auth)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from hypothesis import given, settings
from hypothesis import strategies as st

from stepline._secret import Secret
from stepline.api._sigv4 import (
    AuthFailure,
    SigV4Verifier,
    VerifiedCaller,
    auth_from_env,
    canonical_path,
    parse_access_keys,
)

KEY_ID = "AKIDEXAMPLE"
SECRET = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"


def signed(
    *,
    url: str = "http://127.0.0.1:8083/",
    body: bytes = b"{}",
    headers: dict[str, str] | None = None,
    service: str = "states",
    region: str = "us-east-1",
    secret: str = SECRET,
    key_id: str = KEY_ID,
    token: str | None = None,
) -> tuple[AWSRequest, list[tuple[bytes, bytes]]]:
    """A request signed by botocore now, and its headers as uvicorn hands them to ASGI."""
    request = AWSRequest(method="POST", url=url, data=body, headers=headers or {})
    request.headers["Host"] = urlsplit(url).netloc
    SigV4Auth(Credentials(key_id, secret, token), service, region).add_auth(request)
    raw = [(k.lower().encode(), v.encode()) for k, v in request.headers.items()]
    return request, raw


def signed_at(request: AWSRequest) -> float:
    stamp = request.headers["X-Amz-Date"]
    return dt.datetime.strptime(stamp, "%Y%m%dT%H%M%SZ").replace(tzinfo=dt.UTC).timestamp()


def verify(
    request: AWSRequest,
    headers: list[tuple[bytes, bytes]],
    service: str = "states",
    *,
    body: bytes | None = None,
    skew: float = 0.0,
) -> VerifiedCaller:
    parts = urlsplit(request.url)
    moment = signed_at(request) + skew
    checker = SigV4Verifier({KEY_ID: Secret(SECRET)}, clock=lambda: moment)
    return checker.verify(
        service=service,
        method=request.method,
        raw_path=(parts.path or "/").encode(),
        query_string=parts.query.encode(),
        headers=headers,
        body=(request.body or b"") if body is None else body,
    )


def test_botocore_signature_verifies() -> None:
    request, headers = signed(headers={"X-Amz-Target": "AWSStepFunctions.ListStateMachines"})
    caller = verify(request, headers)
    assert caller.access_key_id == KEY_ID
    assert caller.region == "us-east-1"


def test_any_region_session_token_and_sync_host() -> None:
    request, headers = signed(
        url="http://sync-localhost:8083/", region="ap-southeast-2", token="session-token"
    )
    assert verify(request, headers).region == "ap-southeast-2"


def test_query_string_and_odd_paths() -> None:
    url = "http://localhost:8083/a/./b/../c%20d//e/?Action=ListRoles&Marker=a%2Bb%20c&Empty="
    request, headers = signed(url=url, body=b"", service="iam")
    verify(request, headers, service="iam")


def test_header_whitespace_and_repeated_values() -> None:
    request, headers = signed(headers={"X-Custom": "  a   b  c "})
    verify(request, headers)


@pytest.mark.parametrize(
    ("change", "skew", "kind"),
    [
        ({"secret": "wrong"}, 0, "signature"),
        ({"key_id": "AKIDUNKNOWN"}, 0, "unknown_key"),
        ({}, 16 * 60, "expired"),
        ({}, -16 * 60, "expired"),
        ({"service": "events"}, 0, "signature"),
    ],
)
def test_refusals(change: dict[str, str], skew: float, kind: str) -> None:
    request, headers = signed(**change)
    with pytest.raises(AuthFailure) as info:
        verify(request, headers, skew=skew)
    assert info.value.kind == kind
    assert SECRET not in str(info.value)


def test_expiry_message_is_awss() -> None:
    request, headers = signed()
    with pytest.raises(AuthFailure) as info:
        verify(request, headers, skew=20 * 60)
    stamp = request.headers["X-Amz-Date"]

    def shifted(seconds: float) -> str:
        moment = dt.datetime.fromtimestamp(signed_at(request) + seconds, dt.UTC)
        return moment.strftime("%Y%m%dT%H%M%SZ")

    assert info.value.detail == (
        f"Signature expired: {stamp} is now earlier than {shifted(5 * 60)} "
        f"({shifted(20 * 60)} - 15 min.)"
    )


def test_clock_skew_within_limit_is_accepted() -> None:
    request, headers = signed()
    verify(request, headers, skew=14 * 60)
    verify(request, headers, skew=-14 * 60)


def test_tampered_body_and_headers() -> None:
    request, headers = signed(headers={"X-Amz-Target": "AWSStepFunctions.ListStateMachines"})
    with pytest.raises(AuthFailure) as info:
        verify(request, headers, body=b'{"maxResults": 1}')
    assert info.value.kind == "signature"
    request, headers = signed(headers={"X-Amz-Target": "AWSStepFunctions.ListStateMachines"})
    tampered = [
        (k, b"AWSStepFunctions.DeleteStateMachine" if k == b"x-amz-target" else v)
        for k, v in headers
    ]
    with pytest.raises(AuthFailure):
        verify(request, tampered)


def test_content_sha256_must_match_the_body() -> None:
    request, headers = signed(headers={"X-Amz-Content-SHA256": "0" * 64})
    with pytest.raises(AuthFailure, match="x-amz-content-sha256"):
        verify(request, headers)


def test_missing_and_incomplete_authorization() -> None:
    request, headers = signed()
    without = [(k, v) for k, v in headers if k != b"authorization"]
    with pytest.raises(AuthFailure) as info:
        verify(request, without)
    assert info.value.kind == "missing"
    broken = [
        (k, b"AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20240304/us-east-1/states/aws4_request")
        if k == b"authorization"
        else (k, v)
        for k, v in headers
    ]
    with pytest.raises(AuthFailure) as info:
        verify(request, broken)
    assert info.value.kind == "incomplete"
    assert "'SignedHeaders'" in info.value.detail and "'Signature'" in info.value.detail
    no_date = [(k, v) for k, v in headers if k != b"x-amz-date"]
    with pytest.raises(AuthFailure, match="X-Amz-Date"):
        verify(request, no_date)


@settings(max_examples=60, deadline=None)
@given(
    body=st.binary(max_size=300),
    segments=st.lists(
        st.text(alphabet="abc-_.~ %é/", min_size=1, max_size=6), min_size=0, max_size=3
    ),
    query=st.dictionaries(
        st.text(alphabet="abcXYZ-_.~ +=&é", min_size=1, max_size=5),
        st.text(alphabet="abc -_.~+=/&é", max_size=6),
        max_size=3,
    ),
    region=st.sampled_from(["us-east-1", "eu-central-1", "cn-north-1", "local"]),
)
def test_property_any_botocore_signed_request_verifies(
    body: bytes, segments: list[str], query: dict[str, str], region: str
) -> None:
    from urllib.parse import quote, urlencode

    path = "/" + "/".join(quote(s, safe="") for s in segments)
    url = f"http://localhost:8083{path}"
    if query:
        url += "?" + urlencode(query, quote_via=quote)
    request, headers = signed(url=url, body=body, region=region)
    verify(request, headers)


def test_canonical_path_matches_botocore() -> None:
    signer = SigV4Auth(Credentials("a", "b"), "states", "us-east-1")
    for path in ["/", "", "/a/../b", "//x//y/", "/a%2Fb", "/./", "/a b/"]:
        assert canonical_path(path.encode()) == signer._normalize_url_path(path or "/")


def test_access_key_parsing_never_shows_secrets(tmp_path: Path) -> None:
    keys = parse_access_keys("AKID1:s3cr3t:with:colons, AKID2:other # comment\n\n", "test")
    assert keys["AKID1"].reveal() == "s3cr3t:with:colons"
    assert repr(keys).count("s3cr3t") == 0
    with pytest.raises(ValueError) as info:
        parse_access_keys("AKID1:ok,just-a-secret-value", "STEPLINE_ACCESS_KEYS")
    assert "entry 2" in str(info.value)
    assert "just-a-secret-value" not in str(info.value)
    key_file = tmp_path / "keys"
    key_file.write_text("# operators\nAKID3:from-file\n")
    auth = auth_from_env(
        {
            "STEPLINE_AUTH": "sigv4",
            "STEPLINE_ACCESS_KEYS": "AKID1:x",
            "STEPLINE_ACCESS_KEYS_FILE": str(key_file),
        }
    )
    assert repr(auth) == "SigV4Verifier(2 access keys)"
    assert auth_from_env({}) is None
    assert auth_from_env({"STEPLINE_AUTH": "none"}) is None
    with pytest.raises(ValueError, match="needs access keys"):
        auth_from_env({"STEPLINE_AUTH": "sigv4"})
    with pytest.raises(ValueError, match="must be 'sigv4' or 'none'"):
        auth_from_env({"STEPLINE_AUTH": "basic"})
    with pytest.raises(ValueError, match="Cannot read STEPLINE_ACCESS_KEYS_FILE"):
        auth_from_env({"STEPLINE_AUTH": "sigv4", "STEPLINE_ACCESS_KEYS_FILE": str(tmp_path / "no")})
