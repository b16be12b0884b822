"""Records every process of a deployment shares: EventBridge connections and IAM state.

Kept apart from :mod:`stepline.store._records` (the execution side) because they are not the
Step Functions API's own: the ``events`` and ``iam`` APIs keep them in the store so that every
API and worker process sees one set (issue #7).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Final

__all__ = ["KIND_CONNECTION", "KIND_IAM", "ServiceRecord"]

KIND_CONNECTION: Final = "connection"
"""A connection: ``name`` is its name, ``document`` its record, ``secret`` its ciphertext."""
KIND_IAM: Final = "iam"
"""The IAM state (roles, policies, attachments) as one document named ``state``."""


@dataclass(frozen=True, slots=True)
class ServiceRecord:
    """One shared record.

    Attributes:
        kind: What it is (:data:`KIND_CONNECTION`, :data:`KIND_IAM`).
        name: Its key within the kind.
        document: JSON text the service encodes and decodes; never a secret.
        secret: Ciphertext made by :class:`~stepline.connections.SecretCipher` (the store
            never sees plaintext), or ``None``.
        version: 1 when created, one more per change: what a conditional write expects.
    """

    kind: str
    name: str
    document: str = field(repr=False)
    secret: bytes | None = field(repr=False)
    version: int
