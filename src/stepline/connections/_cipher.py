"""AES-256-GCM encryption of connection secrets at rest.

Ciphertext layout (all of it is stored; nothing else is needed to decrypt but the key)::

    version (1 byte, 0x01) | key id (4 bytes) | nonce (12 bytes) | ciphertext + GCM tag (16 bytes)

* A fresh random 96-bit nonce per encryption: with random nonces GCM stays safe for far more
  messages than a connection store will ever write under one key.
* The key id is derived from the key itself (a hash prefix), so a cipher built with the current
  key plus older ones (``previous_keys``) picks the right key when reading — rotation is "add the
  new key, re-save, drop the old key".
* The associated data is the header plus the secret's id: a ciphertext copied from one
  connection's slot to another's fails authentication instead of leaking the other credentials.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable
from typing import Final

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from stepline.connections._errors import SecretDecryptError, SecretKeyError

__all__ = ["KEY_BYTES", "SecretCipher"]

KEY_BYTES: Final = 32
_VERSION: Final = 1
_KEY_ID_BYTES: Final = 4
_NONCE_BYTES: Final = 12
_HEADER_BYTES: Final = 1 + _KEY_ID_BYTES
_TAG_BYTES: Final = 16


def _key_id(key: bytes) -> bytes:
    return hashlib.sha256(b"stepline secret key id\x00" + key).digest()[:_KEY_ID_BYTES]


def _check_key(key: bytes, what: str) -> None:
    if not isinstance(key, bytes | bytearray) or len(key) != KEY_BYTES:
        raise SecretKeyError(
            f"{what} must be exactly {KEY_BYTES} bytes (AES-256); "
            "use SecretCipher.generate_key() or load_or_create_key() to make one."
        )


class SecretCipher:
    """Encrypts and decrypts secret blobs with AES-256-GCM, binding each to its secret id.

    Args:
        key: The current 32-byte key; every encryption uses it.
        previous_keys: Older keys still accepted for decryption (key rotation).

    Raises:
        SecretKeyError: A key is not 32 bytes.
    """

    __slots__ = ("_aeads", "_current", "_current_id")

    def __init__(self, key: bytes, *, previous_keys: Iterable[bytes] = ()) -> None:
        _check_key(key, "The secret key")
        self._current_id = _key_id(bytes(key))
        self._current = AESGCM(bytes(key))
        aeads: dict[bytes, list[AESGCM]] = {self._current_id: [self._current]}
        for old in previous_keys:
            _check_key(old, "A previous secret key")
            aeads.setdefault(_key_id(bytes(old)), []).append(AESGCM(bytes(old)))
        self._aeads = aeads

    @staticmethod
    def generate_key() -> bytes:
        """A new random 32-byte key."""
        return os.urandom(KEY_BYTES)

    @property
    def key_id(self) -> str:
        """The current key's id (hex): safe to show, identifies the key without revealing it."""
        return self._current_id.hex()

    def __repr__(self) -> str:
        return f"SecretCipher(key_id={self.key_id!r})"

    def __reduce__(self) -> tuple[object, ...]:
        raise TypeError("A SecretCipher holds a key and cannot be pickled.")

    def encrypt(self, plaintext: bytes, *, secret_id: str) -> bytes:
        """Encrypt ``plaintext`` for the slot ``secret_id``.

        Args:
            plaintext: The bytes to protect.
            secret_id: The id the ciphertext is bound to (associated data).

        Returns:
            The self-describing ciphertext (header, nonce, ciphertext and tag).
        """
        header = bytes((_VERSION,)) + self._current_id
        nonce = os.urandom(_NONCE_BYTES)
        sealed = self._current.encrypt(nonce, plaintext, _associated(header, secret_id))
        return header + nonce + sealed

    def decrypt(self, blob: bytes, *, secret_id: str) -> bytes:
        """Decrypt a blob written by :meth:`encrypt` for the same ``secret_id``.

        Raises:
            SecretDecryptError: Unknown format, a key this cipher does not hold, or failed
                authentication (the blob was altered or belongs to another secret id).
        """
        if len(blob) < _HEADER_BYTES + _NONCE_BYTES + _TAG_BYTES:
            raise SecretDecryptError(
                f"The stored secret {secret_id!r} is too short to be a stepline ciphertext; "
                "it is damaged: update the connection to store its credentials again."
            )
        if blob[0] != _VERSION:
            raise SecretDecryptError(
                f"The stored secret {secret_id!r} has format version {blob[0]}, which this "
                f"version of stepline does not read (it writes version {_VERSION})."
            )
        header = blob[:_HEADER_BYTES]
        key_id = header[1:]
        candidates = self._aeads.get(key_id)
        if not candidates:
            raise SecretDecryptError(
                f"The stored secret {secret_id!r} was encrypted with key {key_id.hex()}, but "
                f"the configured key is {self.key_id}: restore the key it was written with "
                "(STEPLINE_SECRET_KEY or the key file), or pass it as a previous key."
            )
        nonce = blob[_HEADER_BYTES : _HEADER_BYTES + _NONCE_BYTES]
        sealed = blob[_HEADER_BYTES + _NONCE_BYTES :]
        associated = _associated(header, secret_id)
        for aead in candidates:
            try:
                return aead.decrypt(nonce, sealed, associated)
            except InvalidTag:
                continue
        raise SecretDecryptError(
            f"The stored secret {secret_id!r} failed authentication: it was altered, or it "
            "belongs to another secret id. Update the connection to store its credentials again."
        )


def _associated(header: bytes, secret_id: str) -> bytes:
    return header + b"\x00" + secret_id.encode("utf-8")
