"""What every store backend shares for RedriveExecution: its idempotency rule.

AWS answers a RedriveExecution whose ``clientToken`` was used for one of the execution's last
ten successful redrives, within fifteen minutes of that redrive, with that redrive's result
instead of redriving again. Backends keep each redrive's token and date and apply this rule
(see ``redrive_execution`` in :class:`~stepline.store.Store`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

__all__ = [
    "REDRIVABLE_STATUSES",
    "REDRIVE_TOKENS_KEPT",
    "REDRIVE_TOKEN_SECONDS",
    "earlier_redrive",
]

REDRIVABLE_STATUSES: Final = frozenset({"FAILED", "TIMED_OUT", "ABORTED"})
"""The statuses an execution can be redriven from."""

REDRIVE_TOKEN_SECONDS: Final = 15 * 60
"""How long a client token answers for the redrive it was used for."""

REDRIVE_TOKENS_KEPT: Final = 10
"""How many of an execution's latest redrives their client tokens answer for."""


def earlier_redrive(
    redrives: Sequence[tuple[str, float]], client_token: str, now: float
) -> float | None:
    """The date of the redrive ``client_token`` was used for, if it still answers for it.

    Args:
        redrives: The execution's redrives as ``(client token, redrive date)``, oldest first.
        client_token: The token of the request.
        now: The request's time.
    """
    for token, date in redrives[-REDRIVE_TOKENS_KEPT:]:
        if token == client_token and date >= now - REDRIVE_TOKEN_SECONDS:
            return date
    return None
