"""AiohttpTransport over real TLS on 127.0.0.1 with a test CA: trust, hostnames, mutual TLS."""

from __future__ import annotations

from pathlib import Path

import pytest
from _egress_kit import SECRET, EchoApp, run, serve

from stepline._secret import Secret
from stepline.egress import (
    AiohttpTransport,
    EgressFailed,
    EgressRefused,
    EgressSettings,
    HttpRequest,
    HttpResponse,
    TlsOptions,
)
from stepline.egress._settings import parse_allow
from support.tls import ServerFiles, TestCA

LOOPBACK = EgressSettings(allow=parse_allow("127.0.0.0/8,localhost"))


@pytest.fixture(scope="module")
def ca() -> TestCA:
    return TestCA.create()


@pytest.fixture
def server(ca: TestCA, tmp_path: Path) -> ServerFiles:
    return ca.issue_server(tmp_path)


def send(
    server_ctx: object, settings: EgressSettings, tls: TlsOptions | None, *, host: str = ""
) -> tuple[HttpResponse | EgressFailed | EgressRefused, EchoApp]:
    app = EchoApp()

    async def main() -> HttpResponse | EgressFailed | EgressRefused:
        async with serve(app, server_ctx) as base, AiohttpTransport(settings) as transport:  # type: ignore[arg-type]
            url = (base.replace("127.0.0.1", host) if host else base) + f"/echo?k={SECRET}"
            try:
                return await transport.send(HttpRequest("GET", url, tls=tls))
            except (EgressFailed, EgressRefused) as error:
                return error

    return run(main()), app


@pytest.mark.parametrize("host", ["", "localhost"])
def test_tls_with_the_test_ca_trusted_works(ca: TestCA, server: ServerFiles, host: str) -> None:
    outcome, app = send(
        server.server_context(), LOOPBACK, TlsOptions(ca_bundle_pem=ca.cert_pem), host=host
    )
    assert isinstance(outcome, HttpResponse) and outcome.status == 200
    assert app.hits == 1


def test_untrusted_certificate_fails_verification_safely(server: ServerFiles) -> None:
    outcome, app = send(server.server_context(), LOOPBACK, None)
    assert isinstance(outcome, EgressFailed)
    message = str(outcome)
    assert message.startswith("TLS certificate verification failed for https://127.0.0.1:")
    assert "unable to get local issuer certificate" in message
    assert SECRET not in message
    assert app.hits == 0


def test_certificate_for_another_name_fails(ca: TestCA, tmp_path: Path) -> None:
    other = ca.issue_server(tmp_path, dns_names=("api.example.com",), ip_addresses=())
    outcome, _ = send(other.server_context(), LOOPBACK, TlsOptions(ca_bundle_pem=ca.cert_pem))
    assert isinstance(outcome, EgressFailed)
    assert "TLS certificate verification failed" in str(outcome)
    assert "mismatch" in str(outcome).lower()


def test_https_to_loopback_is_refused_without_an_allow_rule(
    ca: TestCA, server: ServerFiles
) -> None:
    outcome, app = send(
        server.server_context(), EgressSettings(), TlsOptions(ca_bundle_pem=ca.cert_pem)
    )
    assert isinstance(outcome, EgressRefused)
    assert "a loopback address" in str(outcome)
    assert app.hits == 0


def test_mutual_tls_needs_the_client_certificate(ca: TestCA, server: ServerFiles) -> None:
    server_ctx = server.server_context(require_client_cert=True, client_ca_pem=ca.cert_pem)
    without, app = send(server_ctx, LOOPBACK, TlsOptions(ca_bundle_pem=ca.cert_pem))
    assert isinstance(without, EgressFailed)
    assert "https://127.0.0.1:" in str(without) and SECRET not in str(without)
    assert app.hits == 0

    client = ca.issue_client("workflow-client")
    tls = TlsOptions(
        ca_bundle_pem=ca.cert_pem,
        client_cert_pem=client.cert_pem,
        client_key_pem=Secret(client.key_pem),
    )
    with_cert, app = send(server_ctx, LOOPBACK, tls)
    assert isinstance(with_cert, HttpResponse) and with_cert.status == 200
    assert app.peer_common_names == ["workflow-client"]


def test_client_certificate_from_another_ca_is_rejected(ca: TestCA, server: ServerFiles) -> None:
    server_ctx = server.server_context(require_client_cert=True, client_ca_pem=ca.cert_pem)
    stranger = TestCA.create("another CA").issue_client("stranger")
    tls = TlsOptions(
        ca_bundle_pem=ca.cert_pem,
        client_cert_pem=stranger.cert_pem,
        client_key_pem=Secret(stranger.key_pem),
    )
    outcome, app = send(server_ctx, LOOPBACK, tls)
    assert isinstance(outcome, EgressFailed)
    assert app.hits == 0
