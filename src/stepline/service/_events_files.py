"""Small JSON files in the data directory, written atomically and readable by the owner only.

The service keeps the records of the ``events`` and ``iam`` APIs (connections, roles, policies)
in such files next to the encrypted connection secrets, so that they survive a restart. They
hold no secret; they are still written with mode 0600 because they describe the deployment.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import orjson

from stepline.connections._private_files import replace_private_file

__all__ = ["RecordsFileError", "read_json_file", "records_directory", "write_json_file"]


class RecordsFileError(ValueError):
    """A records file exists but cannot be read back; the message says which and what to do."""


def records_directory(database_url: str, environ: Mapping[str, str] | None = None) -> Path | None:
    """Where the service keeps its records files: the data directory, or None for ``memory://``.

    Mirrors where :func:`~stepline.service.open_context` keeps connection secrets: with an
    in-memory database the secrets live in memory too, so nothing is written to disk.
    """
    if database_url.startswith("memory:"):
        return None
    from stepline.connections import default_data_dir

    return default_data_dir(environ)


def write_json_file(path: Path, document: Any) -> None:
    """Replace ``path`` with ``document`` as JSON: a temporary file, fsync, rename (mode 0600).

    A crash leaves either the old file or the new one, never a torn one.
    """
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    payload = orjson.dumps(document, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS)
    replace_private_file(path, payload)


def read_json_file(path: Path, what: str) -> Any | None:
    """The JSON document in ``path``, or None when the file does not exist.

    Args:
        path: The file.
        what: What the file holds, for messages (``connection records``).

    Raises:
        RecordsFileError: The file cannot be read or is not JSON.
    """
    try:
        payload = path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise RecordsFileError(
            f"Cannot read the {what} file {path}: {exc.strerror}. Give the server's user read "
            "access to it (and to its directory)."
        ) from None
    try:
        return orjson.loads(payload)
    except orjson.JSONDecodeError as exc:
        raise RecordsFileError(
            f"The {what} file {path} is not valid JSON ({exc.msg}); restore it from a backup, "
            "or move it away to start without those records."
        ) from None
