"""A throw-away certificate authority for tests that need real TLS on 127.0.0.1.

Everything is made with ``cryptography`` at test time; nothing is checked in. Typical use with
an ``aiohttp.web`` server and stepline's transport::

    from support.tls import TestCA

    ca = TestCA.create()
    server = ca.issue_server(tmp_path)              # cert for 127.0.0.1, ::1 and localhost
    ssl_ctx = server.server_context()               # give to web.TCPSite(..., ssl_context=)
    tls = TlsOptions(ca_bundle_pem=ca.cert_pem)     # the client trusts the test CA

Mutual TLS::

    client = ca.issue_client("workflow-client")
    ssl_ctx = server.server_context(require_client_cert=True, client_ca_pem=ca.cert_pem)
    tls = TlsOptions(
        ca_bundle_pem=ca.cert_pem,
        client_cert_pem=client.cert_pem,
        client_key_pem=Secret(client.key_pem),
    )

Keys are EC P-256 (fast to generate). Certificates are valid from one hour ago for two days.
"""

from __future__ import annotations

import datetime
import ipaddress
import ssl
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

__all__ = ["IssuedCert", "ServerFiles", "TestCA"]

_LOOPBACK_NAMES = ("localhost",)
_LOOPBACK_IPS = ("127.0.0.1", "::1")


def _new_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def _key_pem(key: ec.EllipticCurvePrivateKey) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode("ascii")


def _cert_pem(cert: x509.Certificate) -> str:
    return cert.public_bytes(serialization.Encoding.PEM).decode("ascii")


def _validity() -> tuple[datetime.datetime, datetime.datetime]:
    now = datetime.datetime.now(datetime.UTC)
    return now - datetime.timedelta(hours=1), now + datetime.timedelta(days=2)


@dataclass(frozen=True)
class IssuedCert:
    """A certificate and its private key, as PEM text.

    Attributes:
        cert_pem: The certificate (leaf only; the chain is the test CA).
        key_pem: The unencrypted PKCS#8 private key.
    """

    cert_pem: str
    key_pem: str


@dataclass(frozen=True)
class ServerFiles:
    """A server certificate written to disk, ready for ``ssl.SSLContext.load_cert_chain``.

    Attributes:
        cert_pem: The server certificate, PEM text.
        key_pem: Its private key, PEM text.
        cert_path: File holding ``cert_pem``.
        key_path: File holding ``key_pem``.
    """

    cert_pem: str
    key_pem: str
    cert_path: Path
    key_path: Path

    def server_context(
        self, *, require_client_cert: bool = False, client_ca_pem: str | None = None
    ) -> ssl.SSLContext:
        """A server-side SSL context for ``aiohttp.web.TCPSite(ssl_context=...)``.

        Args:
            require_client_cert: Demand a client certificate (mutual TLS); a client without
                one fails the handshake.
            client_ca_pem: The CA that client certificates must chain to (needed with
                ``require_client_cert``).
        """
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(self.cert_path, self.key_path)
        if require_client_cert:
            if client_ca_pem is None:
                raise ValueError("require_client_cert needs client_ca_pem.")
            context.verify_mode = ssl.CERT_REQUIRED
            context.load_verify_locations(cadata=client_ca_pem)
        return context


@dataclass(frozen=True)
class TestCA:
    """A self-signed certificate authority that issues server and client certificates.

    Attributes:
        name: The CA's common name.
        cert_pem: The CA certificate, PEM text: what a client must trust.
        key: The CA's private key (kept in memory only).
        cert: The CA certificate object.
    """

    __test__ = False  # not a pytest test class, despite the name

    name: str
    cert_pem: str
    key: ec.EllipticCurvePrivateKey
    cert: x509.Certificate

    @classmethod
    def create(cls, name: str = "stepline test CA") -> TestCA:
        """Make a new CA (a fresh key every call, so CAs never trust each other)."""
        key = _new_key()
        subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
        not_before, not_after = _validity()
        cert = (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(not_before)
            .not_valid_after(not_after)
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=True,
                    content_commitment=False,
                    key_encipherment=False,
                    data_encipherment=False,
                    key_agreement=False,
                    key_cert_sign=True,
                    crl_sign=True,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            )
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), False)
            .sign(key, hashes.SHA256())
        )
        return cls(name=name, cert_pem=_cert_pem(cert), key=key, cert=cert)

    def issue(
        self,
        common_name: str,
        *,
        dns_names: tuple[str, ...] = (),
        ip_addresses: tuple[str, ...] = (),
        server: bool = True,
    ) -> IssuedCert:
        """Issue a leaf certificate signed by this CA.

        Args:
            common_name: The subject's common name.
            dns_names: DNS subject alternative names.
            ip_addresses: IP subject alternative names.
            server: True for a TLS server certificate, False for a TLS client certificate.
        """
        key = _new_key()
        not_before, not_after = _validity()
        builder = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)]))
            .issuer_name(self.cert.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(not_before)
            .not_valid_after(not_after)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(
                x509.ExtendedKeyUsage(
                    [ExtendedKeyUsageOID.SERVER_AUTH if server else ExtendedKeyUsageOID.CLIENT_AUTH]
                ),
                critical=False,
            )
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(self.key.public_key()), False
            )
        )
        names: list[x509.GeneralName] = [x509.DNSName(name) for name in dns_names]
        names += [x509.IPAddress(ipaddress.ip_address(ip)) for ip in ip_addresses]
        if names:
            builder = builder.add_extension(x509.SubjectAlternativeName(names), critical=False)
        cert = builder.sign(self.key, hashes.SHA256())
        return IssuedCert(cert_pem=_cert_pem(cert), key_pem=_key_pem(key))

    def issue_server(
        self,
        directory: Path,
        *,
        dns_names: tuple[str, ...] = _LOOPBACK_NAMES,
        ip_addresses: tuple[str, ...] = _LOOPBACK_IPS,
    ) -> ServerFiles:
        """Issue a server certificate (by default for localhost, 127.0.0.1 and ::1) and write it.

        Args:
            directory: Where ``server-cert.pem`` and ``server-key.pem`` go (e.g. ``tmp_path``).
            dns_names: DNS names the certificate covers.
            ip_addresses: IP addresses the certificate covers.
        """
        issued = self.issue("stepline test server", dns_names=dns_names, ip_addresses=ip_addresses)
        cert_path = directory / "server-cert.pem"
        key_path = directory / "server-key.pem"
        cert_path.write_text(issued.cert_pem)
        key_path.write_text(issued.key_pem)
        key_path.chmod(0o600)
        return ServerFiles(issued.cert_pem, issued.key_pem, cert_path, key_path)

    def issue_client(self, common_name: str = "stepline test client") -> IssuedCert:
        """Issue a client certificate for mutual TLS (PEM text only; nothing is written)."""
        return self.issue(common_name, server=False)
