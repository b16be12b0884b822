"""Short, safe descriptions of network errors for the transports' messages.

Both transports word their failures alike ("could not connect to https://host:443: connection
refused"); the reason comes from here. It is built from error codes only, never from an
exception's text, which may quote a URL or bytes a server sent.
"""

from __future__ import annotations

import errno as errno_codes
import os
import socket

__all__ = ["os_reason", "readable"]


def os_reason(error: BaseException | None, fallback: str) -> str:
    """``connection refused``, ``name or service not known``…; ``fallback`` when unknown."""
    if isinstance(error, socket.gaierror):
        return readable(error.strerror) or fallback
    if isinstance(error, OSError) and error.errno in errno_codes.errorcode:
        assert error.errno is not None
        return os.strerror(error.errno).lower()
    return fallback


def readable(text: object) -> str:
    """A code-like word made readable (``SSL_ERROR`` → ``ssl error``); ``""`` for nothing."""
    return str(text).replace("_", " ").lower() if text else ""
