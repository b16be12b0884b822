"""Where the secret key comes from: ``STEPLINE_SECRET_KEY``, else a private key file.

The key file lives in the per-user data directory (``$STEPLINE_DATA_DIR``, else
``$XDG_DATA_HOME/stepline``, else ``~/.local/share/stepline``) as ``secret.key``: base64 text of
32 random bytes, so the same text can be copied into ``STEPLINE_SECRET_KEY`` on another machine.

It is created on first start with ``O_CREAT | O_EXCL`` and mode 0600 in a 0700 directory, and
refused when it is readable or writable by group or others: a key anyone on the machine can read
protects nothing.
"""

from __future__ import annotations

import base64
import binascii
import os
import secrets
import stat
from collections.abc import Mapping
from pathlib import Path
from typing import Final

from stepline.connections._cipher import KEY_BYTES
from stepline.connections._errors import SecretKeyError
from stepline.connections._private_files import write_new_private_file

__all__ = ["KEY_ENV", "KEY_FILE_NAME", "default_data_dir", "load_or_create_key"]

KEY_ENV: Final = "STEPLINE_SECRET_KEY"
KEY_FILE_NAME: Final = "secret.key"
_GENERATE_HINT: Final = (
    'generate one with: python -c "import base64, os; '
    'print(base64.b64encode(os.urandom(32)).decode())"'
)
# POSIX permission bits only mean something on POSIX systems.
_CHECK_MODE: Final = os.name == "posix"


def default_data_dir(environ: Mapping[str, str] | None = None) -> Path:
    """The per-user data directory stepline keeps its files in.

    Args:
        environ: The environment to read (``os.environ`` when ``None``).

    Returns:
        ``$STEPLINE_DATA_DIR``, else ``$XDG_DATA_HOME/stepline`` (when absolute, as the XDG
        specification requires), else ``~/.local/share/stepline``.
    """
    env = os.environ if environ is None else environ
    explicit = env.get("STEPLINE_DATA_DIR")
    if explicit:
        return Path(explicit).expanduser()
    xdg = env.get("XDG_DATA_HOME")
    if xdg and os.path.isabs(xdg):
        return Path(xdg) / "stepline"
    return Path.home() / ".local" / "share" / "stepline"


def load_or_create_key(
    path: str | os.PathLike[str] | None = None, *, environ: Mapping[str, str] | None = None
) -> bytes:
    """The 32-byte secret key: from ``STEPLINE_SECRET_KEY``, else from (or into) a key file.

    Args:
        path: The key file; ``<default_data_dir()>/secret.key`` when ``None``.
        environ: The environment to read (``os.environ`` when ``None``).

    Returns:
        The key bytes, for :class:`~stepline.connections.SecretCipher`.

    Raises:
        SecretKeyError: The variable or the file is not base64 of 32 bytes, or the file is
            accessible by group or others, or is not a regular file.
    """
    env = os.environ if environ is None else environ
    from_env = env.get(KEY_ENV)
    if from_env is not None:
        return _decode(from_env, f"The environment variable {KEY_ENV}")
    key_path = Path(path) if path is not None else default_data_dir(env) / KEY_FILE_NAME
    try:
        return _read_key_file(key_path)
    except FileNotFoundError:
        pass
    return _create_key_file(key_path)


def _decode(text: str, where: str) -> bytes:
    # The value itself never goes into a message: only its decoded length.
    # Accept the URL-safe alphabet too: both are common ways to print 32 random bytes.
    normalised = text.strip().replace("-", "+").replace("_", "/")
    try:
        key = base64.b64decode(normalised, validate=True)
    except (binascii.Error, ValueError):
        raise SecretKeyError(
            f"{where} is not valid base64: it must be the base64 text of exactly "
            f"{KEY_BYTES} random bytes; {_GENERATE_HINT}"
        ) from None
    if len(key) != KEY_BYTES:
        raise SecretKeyError(
            f"{where} decodes to {len(key)} bytes; it must be the base64 text of exactly "
            f"{KEY_BYTES} random bytes; {_GENERATE_HINT}"
        )
    return key


def _read_key_file(key_path: Path) -> bytes:
    fd = os.open(key_path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    with os.fdopen(fd, "rb") as handle:
        info = os.fstat(handle.fileno())
        if not stat.S_ISREG(info.st_mode):
            raise SecretKeyError(f"The secret key file {key_path} is not a regular file.")
        if _CHECK_MODE and info.st_mode & 0o077:
            raise SecretKeyError(
                f"The secret key file {key_path} has permissions "
                f"{stat.S_IMODE(info.st_mode):04o}: group or others may access it, so stepline "
                f"refuses to use it. Run `chmod 600 {key_path}` (and consider the key exposed: "
                "rotate it if other users could have read it)."
            )
        raw = handle.read(4096)
    try:
        text = raw.decode("ascii")
    except UnicodeDecodeError:
        text = "\x00"  # not base64: reported below without echoing the bytes
    return _decode(text, f"The secret key file {key_path}")


def _create_key_file(key_path: Path) -> bytes:
    directory = key_path.parent
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    key = os.urandom(KEY_BYTES)
    content = base64.b64encode(key) + b"\n"
    # Write a private temporary file completely, then link it into place: the link fails if
    # another process created the key first, and nobody ever reads a half-written key.
    temporary = directory / f".{key_path.name}.{secrets.token_hex(8)}.tmp"
    write_new_private_file(temporary, content)
    try:
        try:
            os.link(temporary, key_path)
        except FileExistsError:
            return _read_key_file(key_path)
        except OSError:
            # A file system without hard links: fall back to an exclusive create in place.
            return _create_in_place(key_path, key, content)
    finally:
        temporary.unlink(missing_ok=True)
    return key


def _create_in_place(key_path: Path, key: bytes, content: bytes) -> bytes:
    try:
        write_new_private_file(key_path, content)
    except FileExistsError:
        return _read_key_file(key_path)
    return key
