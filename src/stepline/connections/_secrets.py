"""Where connection secrets are kept: encrypted, always.

A :class:`SecretStore` maps a secret id (the connection's ``SecretArn``) to a small mapping of
named plaintext values (``basic/password``, ``invocation/HeaderParameters/0``…). Stores hold
only ciphertext made by :class:`~stepline.connections.SecretCipher`; plaintext exists only in
the :class:`~stepline._secret.Secret` values :meth:`SecretStore.get` returns, for the moment of a
request.

Two stores ship here — :class:`InMemorySecretStore` (tests, one process) and
:class:`FileSecretStore` (one 0600 file per secret). The service's SQL store implements the same
three methods.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Protocol

from stepline._secret import Secret
from stepline.connections._cipher import SecretCipher
from stepline.connections._errors import SecretDecryptError
from stepline.connections._private_files import replace_private_file

__all__ = ["FileSecretStore", "InMemorySecretStore", "SecretStore", "open_secret", "seal_secret"]


class SecretStore(Protocol):
    """Keeps secret mappings encrypted, by secret id."""

    def put(self, secret_id: str, value: Mapping[str, str | Secret]) -> None:
        """Store (or replace) the mapping ``value`` under ``secret_id``."""
        ...

    def get(self, secret_id: str) -> dict[str, Secret] | None:
        """The mapping under ``secret_id`` as :class:`Secret` values; ``None`` if absent.

        Raises:
            SecretDecryptError: The stored ciphertext cannot be decrypted with the cipher's keys.
        """
        ...

    def delete(self, secret_id: str) -> None:
        """Remove the secret; nothing happens if it does not exist."""
        ...


def seal_secret(cipher: SecretCipher, secret_id: str, value: Mapping[str, str | Secret]) -> bytes:
    """Serialise and encrypt a secret mapping (the format every store shares).

    Args:
        cipher: The cipher.
        secret_id: The id the ciphertext is bound to.
        value: Names to plaintext values (plain strings or :class:`Secret`).

    Returns:
        The ciphertext.
    """
    plain = {
        name: item.reveal() if isinstance(item, Secret) else item for name, item in value.items()
    }
    for name, item in plain.items():
        if not isinstance(name, str) or not isinstance(item, str):
            raise TypeError("A secret mapping holds string names and string values only.")
    encoded = json.dumps(plain, separators=(",", ":"), sort_keys=True).encode("utf-8")
    return cipher.encrypt(encoded, secret_id=secret_id)


def open_secret(cipher: SecretCipher, secret_id: str, blob: bytes) -> dict[str, Secret]:
    """Decrypt a blob made by :func:`seal_secret` into :class:`Secret` values.

    Raises:
        SecretDecryptError: The blob cannot be decrypted, or does not hold a mapping.
    """
    plain = cipher.decrypt(blob, secret_id=secret_id)
    try:
        decoded = json.loads(plain)
    except ValueError:
        decoded = None
    if not isinstance(decoded, dict) or not all(isinstance(v, str) for v in decoded.values()):
        raise SecretDecryptError(
            f"The stored secret {secret_id!r} decrypted but does not hold a secret mapping; "
            "update the connection to store its credentials again."
        )
    return {name: Secret(item) for name, item in decoded.items()}


class InMemorySecretStore:
    """Secrets in a dictionary — still encrypted, so a memory dump or a debugger shows no plaintext.

    Args:
        cipher: Encrypts on :meth:`put`, decrypts on :meth:`get`.
    """

    __slots__ = ("_blobs", "_cipher")

    def __init__(self, cipher: SecretCipher) -> None:
        self._cipher = cipher
        self._blobs: dict[str, bytes] = {}

    def __repr__(self) -> str:
        return f"InMemorySecretStore({len(self._blobs)} secrets, key_id={self._cipher.key_id!r})"

    def put(self, secret_id: str, value: Mapping[str, str | Secret]) -> None:
        """Store (or replace) the mapping ``value`` under ``secret_id``."""
        self._blobs[secret_id] = seal_secret(self._cipher, secret_id, value)

    def get(self, secret_id: str) -> dict[str, Secret] | None:
        """The mapping under ``secret_id`` as :class:`Secret` values; ``None`` if absent."""
        blob = self._blobs.get(secret_id)
        return None if blob is None else open_secret(self._cipher, secret_id, blob)

    def delete(self, secret_id: str) -> None:
        """Remove the secret; nothing happens if it does not exist."""
        self._blobs.pop(secret_id, None)

    def ciphertext(self, secret_id: str) -> bytes | None:
        """The raw stored ciphertext (for inspection, tests, and copying it elsewhere)."""
        return self._blobs.get(secret_id)

    def replace_ciphertexts(self, blobs: dict[str, bytes]) -> None:
        """Hold exactly ``blobs`` (ciphertext by secret id, as :meth:`ciphertext` gives it):
        for a process whose secrets are kept elsewhere, encrypted with the same key."""
        self._blobs = dict(blobs)


class FileSecretStore:
    """One encrypted file per secret, mode 0600, replaced atomically.

    File names are a hash of the secret id, so ids with ``/``, ``!`` or ``:`` (secret ARNs)
    map to safe, fixed-length names and the directory listing reveals no connection names.

    Args:
        directory: Where the files live; created with mode 0700 if missing.
        cipher: Encrypts on :meth:`put`, decrypts on :meth:`get`.
    """

    __slots__ = ("_cipher", "_directory")

    def __init__(self, directory: str | os.PathLike[str], cipher: SecretCipher) -> None:
        self._directory = Path(directory)
        self._directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        self._cipher = cipher

    def __repr__(self) -> str:
        return f"FileSecretStore({str(self._directory)!r}, key_id={self._cipher.key_id!r})"

    @property
    def directory(self) -> Path:
        """The directory the secret files live in."""
        return self._directory

    def path_for(self, secret_id: str) -> Path:
        """The file that holds ``secret_id``."""
        digest = hashlib.sha256(secret_id.encode("utf-8")).hexdigest()
        return self._directory / f"{digest}.secret"

    def put(self, secret_id: str, value: Mapping[str, str | Secret]) -> None:
        """Store (or replace) the mapping ``value`` under ``secret_id``, atomically."""
        blob = seal_secret(self._cipher, secret_id, value)
        replace_private_file(self.path_for(secret_id), blob)

    def get(self, secret_id: str) -> dict[str, Secret] | None:
        """The mapping under ``secret_id`` as :class:`Secret` values; ``None`` if absent."""
        try:
            blob = self.path_for(secret_id).read_bytes()
        except FileNotFoundError:
            return None
        return open_secret(self._cipher, secret_id, blob)

    def delete(self, secret_id: str) -> None:
        """Remove the secret's file; nothing happens if it does not exist."""
        self.path_for(secret_id).unlink(missing_ok=True)
