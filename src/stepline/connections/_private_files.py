"""Writing files that only their owner may read, durably: the key file, secrets and records.

:func:`write_new_private_file` creates a file exclusively (``O_EXCL``: never through a file
someone else made) with mode ``0600`` from the start, and fsyncs it, so that it can be linked or
renamed into place complete: a crash never leaves a torn key or secret behind a complete-looking
name. :func:`replace_private_file` does exactly that for a file that is rewritten (a secret file,
the service's records files): a fresh temporary sibling, then an atomic rename over the old one.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

__all__ = ["replace_private_file", "write_new_private_file"]


def write_new_private_file(path: Path, content: bytes) -> None:
    """Create ``path`` (mode ``0600``, exclusively), write ``content`` and fsync it.

    Either the whole content is written or the file is gone: a failure after creating it
    removes it again (it is this call's own, created exclusively).

    Raises:
        FileExistsError: ``path`` exists already (nothing is written then).
        OSError: The file cannot be created or written.
    """
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(content)
            handle.flush()
            os.fsync(handle.fileno())
    except BaseException:
        path.unlink(missing_ok=True)
        raise


def replace_private_file(path: Path, content: bytes) -> None:
    """Replace (or create) ``path`` with ``content`` atomically, mode ``0600``.

    The content goes to a new temporary file beside ``path`` (see
    :func:`write_new_private_file`), which is then renamed over it: readers and a crash see
    either the old file or the new one, never a torn one. The directory must exist.

    Raises:
        OSError: The temporary file cannot be written or renamed (it is removed again).
    """
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(8)}.tmp")
    write_new_private_file(temporary, content)
    try:
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
