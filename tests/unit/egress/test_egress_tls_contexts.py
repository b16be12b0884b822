"""SSL contexts for per-connection TLS options: built once, bad PEM reported without content."""

from __future__ import annotations

import ssl

import pytest

from stepline._secret import Secret
from stepline.egress import EgressFailed, TlsOptions
from stepline.egress._tls import TlsContextCache
from support.tls import TestCA

ORIGIN = "https://api.example.com:443"


@pytest.fixture(scope="module")
def ca() -> TestCA:
    return TestCA.create()


def test_context_is_built_once_per_options(ca: TestCA) -> None:
    cache = TlsContextCache()
    options = TlsOptions(ca_bundle_pem=ca.cert_pem)
    context = cache.get(options, ORIGIN)
    assert isinstance(context, ssl.SSLContext)
    assert context.verify_mode == ssl.CERT_REQUIRED and context.check_hostname
    assert cache.get(TlsOptions(ca_bundle_pem=ca.cert_pem), ORIGIN) is context
    assert cache.get(TlsOptions(ca_bundle_pem=TestCA.create().cert_pem), ORIGIN) is not context


def test_extra_ca_is_added_to_the_system_trust(ca: TestCA) -> None:
    system = ssl.create_default_context().cert_store_stats()["x509_ca"]
    context = TlsContextCache().get(TlsOptions(ca_bundle_pem=ca.cert_pem), ORIGIN)
    assert context.cert_store_stats()["x509_ca"] == system + 1


def test_client_identity_loads_from_memory(ca: TestCA) -> None:
    client = ca.issue_client()
    options = TlsOptions(client_cert_pem=client.cert_pem, client_key_pem=Secret(client.key_pem))
    assert isinstance(TlsContextCache().get(options, ORIGIN), ssl.SSLContext)


def test_cache_evicts_the_least_recently_used() -> None:
    cache = TlsContextCache(max_entries=2)
    cas = [TestCA.create() for _ in range(3)]
    first = cache.get(TlsOptions(ca_bundle_pem=cas[0].cert_pem), ORIGIN)
    cache.get(TlsOptions(ca_bundle_pem=cas[1].cert_pem), ORIGIN)
    cache.get(TlsOptions(ca_bundle_pem=cas[2].cert_pem), ORIGIN)
    assert cache.get(TlsOptions(ca_bundle_pem=cas[0].cert_pem), ORIGIN) is not first


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        (TlsOptions(ca_bundle_pem="not a certificate"), "CA bundle"),
        (TlsOptions(client_cert_pem="x"), "no client private key"),
        (TlsOptions(client_key_pem=Secret("x")), "no client certificate"),
    ],
)
def test_bad_options_are_reported_with_the_origin(options: TlsOptions, expected: str) -> None:
    with pytest.raises(EgressFailed) as caught:
        TlsContextCache().get(options, ORIGIN)
    assert expected in str(caught.value)
    assert ORIGIN in str(caught.value)


def test_bad_key_or_mismatched_cert_never_quotes_the_key(ca: TestCA) -> None:
    client = ca.issue_client()
    other = ca.issue_client("other")
    secret_marker = "TOPSECRETKEYMATERIAL"
    bad_key = TlsOptions(
        client_cert_pem=client.cert_pem,
        client_key_pem=Secret(f"-----BEGIN PRIVATE KEY-----\n{secret_marker}\n"),
    )
    with pytest.raises(EgressFailed) as caught:
        TlsContextCache().get(bad_key, ORIGIN)
    assert "not a valid unencrypted PEM private key" in str(caught.value)
    assert secret_marker not in str(caught.value) and caught.value.__cause__ is None
    mismatched = TlsOptions(client_cert_pem=client.cert_pem, client_key_pem=Secret(other.key_pem))
    with pytest.raises(EgressFailed, match="match the client private key") as caught:
        TlsContextCache().get(mismatched, ORIGIN)
    assert "PRIVATE KEY" not in str(caught.value)
