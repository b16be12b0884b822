"""Writing a new file that only its owner may read, durably: the key file and the secret files.

Both are created exclusively (``O_EXCL``: never through a file someone else made) with mode
``0600`` from the start, and fsynced before they are linked or renamed into place, so that a
crash never leaves a torn key or secret behind a complete-looking name.
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["write_new_private_file"]


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
