"""SSL contexts for per-connection TLS options, built once and cached.

A connection may add certificate authorities to the system's trust (``ca_bundle_pem``) and
present a client certificate (mutual TLS). Building an :class:`ssl.SSLContext` loads the system
trust store, which takes milliseconds, so each distinct :class:`TlsOptions` is built once.

Python's :mod:`ssl` loads a private key only from a file path. The client key therefore never
reaches a file in plaintext: it is re-encrypted in memory under a random one-time password and
the encrypted copy is handed to OpenSSL through an anonymous in-memory file (``memfd`` on
Linux) or, where that does not exist, a ``0600`` temporary file deleted right after loading.
"""

from __future__ import annotations

import os
import secrets
import ssl
import tempfile
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager

from stepline.egress._messages import EgressFailed, TlsOptions

__all__ = ["TlsContextCache", "build_ssl_context"]


class TlsContextCache:
    """The SSL context for each :class:`TlsOptions` seen, least recently used evicted first.

    Args:
        max_entries: Contexts kept at most (one per distinct connection TLS setting).
    """

    __slots__ = ("_contexts", "_max_entries")

    def __init__(self, max_entries: int = 128) -> None:
        self._contexts: OrderedDict[TlsOptions, ssl.SSLContext] = OrderedDict()
        self._max_entries = max_entries

    def get(self, options: TlsOptions, origin: str) -> ssl.SSLContext:
        """The context for ``options``, built on first use.

        Args:
            options: The connection's TLS options.
            origin: ``scheme://host:port``, for error messages.

        Raises:
            EgressFailed: The PEM text is invalid or the certificate and key do not match.
        """
        context = self._contexts.get(options)
        if context is not None:
            self._contexts.move_to_end(options)
            return context
        context = build_ssl_context(options, origin)
        self._contexts[options] = context
        if len(self._contexts) > self._max_entries:
            self._contexts.popitem(last=False)
        return context

    def clear(self) -> None:
        """Forget every context (and with them the loaded client keys)."""
        self._contexts.clear()


def build_ssl_context(options: TlsOptions, origin: str) -> ssl.SSLContext:
    """A verifying client context: system trust plus ``options``.

    Args:
        options: Extra CAs and/or a client certificate and key.
        origin: ``scheme://host:port``, for error messages.

    Raises:
        EgressFailed: The PEM text is invalid or the certificate and key do not match.
    """
    context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH)
    # aiohttp speaks HTTP/1.1 only; say so in ALPN like its own default context does.
    context.set_alpn_protocols(["http/1.1"])
    if options.ca_bundle_pem:
        try:
            context.load_verify_locations(cadata=options.ca_bundle_pem)
        except (ssl.SSLError, ValueError):
            raise EgressFailed(
                f"The CA bundle configured for {origin} is not valid PEM text; give one or "
                "more '-----BEGIN CERTIFICATE-----' blocks."
            ) from None
    has_cert = bool(options.client_cert_pem)
    has_key = options.client_key_pem is not None
    if has_cert != has_key:
        missing = "private key" if has_cert else "certificate"
        raise EgressFailed(
            f"The client certificate settings for {origin} have no client {missing}; mutual "
            "TLS needs both the certificate and its private key."
        )
    if has_cert:
        _load_client_identity(context, options, origin)
    return context


def _load_client_identity(context: ssl.SSLContext, options: TlsOptions, origin: str) -> None:
    from cryptography.hazmat.primitives import serialization

    assert options.client_cert_pem is not None and options.client_key_pem is not None
    try:
        key = serialization.load_pem_private_key(
            options.client_key_pem.reveal().encode("utf-8"), password=None
        )
    except (ValueError, TypeError, UnicodeError):
        # The parser's own message could quote the input: say nothing about the content.
        raise EgressFailed(
            f"The client private key configured for {origin} is not a valid unencrypted PEM "
            "private key."
        ) from None
    password = secrets.token_bytes(32)
    encrypted_key = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(password),
    )
    try:
        with (
            _private_file(options.client_cert_pem.encode("utf-8")) as cert_path,
            _private_file(encrypted_key) as key_path,
        ):
            context.load_cert_chain(cert_path, key_path, password=password)
    except (ssl.SSLError, ValueError, UnicodeError):
        raise EgressFailed(
            f"The client certificate configured for {origin} could not be loaded: it must be "
            "PEM text and match the client private key."
        ) from None


@contextmanager
def _private_file(data: bytes) -> Iterator[str]:
    """A path OpenSSL can read ``data`` from, gone when the block ends."""
    memfd_create = getattr(os, "memfd_create", None)
    if memfd_create is not None and os.path.isdir("/proc/self/fd"):
        fd = memfd_create("stepline-tls", os.MFD_CLOEXEC)
        try:
            _write_all(fd, data)
            yield f"/proc/self/fd/{fd}"
        finally:
            os.close(fd)
        return
    # mkstemp creates the file with mode 0600, readable by this user only.
    fd, path = tempfile.mkstemp(prefix="stepline-tls-")
    try:
        _write_all(fd, data)
        os.close(fd)
        fd = -1
        yield path
    finally:
        if fd >= 0:
            os.close(fd)
        os.unlink(path)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]
