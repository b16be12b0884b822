"""Checks of the TLS extension's PEM texts, done once when a connection is saved.

Parsing the certificates and the key at save time turns a typo into a clear validation error
instead of a TLS failure in the middle of an execution. Messages never quote the PEM text.
"""

from __future__ import annotations

from cryptography import x509
from cryptography.hazmat.primitives import serialization

__all__ = ["check_tls"]

_SPKI = (serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)


def check_tls(
    ca_bundle: str | None, client_cert: str | None, client_key: str | None
) -> tuple[str, str] | None:
    """Check the TLS extension's members.

    Args:
        ca_bundle: ``CaBundlePem``.
        client_cert: ``ClientCertificatePem``.
        client_key: ``ClientKeyPem`` (plaintext, never echoed).

    Returns:
        ``None`` when valid, else ``(member, problem)``.
    """
    if ca_bundle is not None:
        try:
            if not x509.load_pem_x509_certificates(ca_bundle.encode("utf-8")):
                raise ValueError
        except ValueError:
            return (
                "CaBundlePem",
                "must hold one or more PEM certificates (-----BEGIN CERTIFICATE-----)",
            )
    if (client_cert is None) != (client_key is None):
        missing = "ClientKeyPem" if client_key is None else "ClientCertificatePem"
        return missing, "is required: a client certificate and its private key go together"
    if client_cert is None or client_key is None:
        return None
    try:
        chain = x509.load_pem_x509_certificates(client_cert.encode("utf-8"))
        if not chain:
            raise ValueError
    except ValueError:
        return (
            "ClientCertificatePem",
            "must hold the client certificate (then any intermediates) in PEM form",
        )
    try:
        key = serialization.load_pem_private_key(client_key.encode("utf-8"), password=None)
    except (ValueError, TypeError):
        return (
            "ClientKeyPem",
            "must be an unencrypted PEM private key (-----BEGIN PRIVATE KEY-----); "
            "decrypt it first, e.g. with `openssl pkey -in key.pem -out plain.pem`",
        )
    if key.public_key().public_bytes(*_SPKI) != chain[0].public_key().public_bytes(*_SPKI):
        return "ClientKeyPem", "does not belong to the first certificate of ClientCertificatePem"
    return None
