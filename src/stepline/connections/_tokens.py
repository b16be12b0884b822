"""The OAuth token cache: one token per connection, refreshed early, one refresh at a time.

* A token is used while it has more than :data:`REFRESH_MARGIN` seconds left (EventBridge
  refreshes proactively when less than 60 s remain); a token without an expiry is used until a
  target rejects it.
* However many requests need a new token at once, one token request is made: the first caller
  starts the exchange as a task, the others await the same task (shielded, so a caller that is
  cancelled does not cancel the exchange for everyone else).
* Each token gets a generation number. ``reject(arn, generation)`` drops the token only if it is
  still that generation, so a burst of 401s for the same old token causes one refresh, not many.
* Tokens belong to a record revision: after an update the old revision's tokens are forgotten and
  an exchange started for an old revision cannot install its token.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Final

from stepline.connections._oauth import OAuthToken

__all__ = ["REFRESH_MARGIN", "TokenCache", "TokenOutcome"]

REFRESH_MARGIN: Final = 60.0


@dataclass(frozen=True, slots=True)
class TokenOutcome:
    """What an exchange produced: a token and its generation, or an ASL error to raise.

    Attributes:
        token: The token, on success.
        generation: The token's generation, on success.
        error: The ASL error name, on failure.
        cause: The failure's cause (safe to show), on failure.
    """

    token: OAuthToken | None = None
    generation: int = 0
    error: str = ""
    cause: str = ""


@dataclass(slots=True)
class _Slot:
    token: OAuthToken | None = None
    generation: int = 0
    revision: int = 0
    inflight: asyncio.Task[TokenOutcome] | None = None
    inflight_revision: int = 0


class TokenCache:
    """Tokens by connection ARN, with coalesced refresh.

    Args:
        clock: Seconds since the epoch (the same clock ``expires_at`` is measured on).
        refresh_margin: Refresh when a token has less than this many seconds left.
    """

    __slots__ = ("_clock", "_next_generation", "_refresh_margin", "_running", "_slots")

    def __init__(self, clock: Callable[[], float], refresh_margin: float = REFRESH_MARGIN) -> None:
        self._clock = clock
        self._refresh_margin = refresh_margin
        self._slots: dict[str, _Slot] = {}
        self._next_generation = 0
        # Strong references: a forgotten slot's exchange must still run to completion.
        self._running: set[asyncio.Task[TokenOutcome]] = set()

    def current(self, arn: str, revision: int) -> TokenOutcome | None:
        """The cached token for this revision if it is not about to expire, else ``None``."""
        slot = self._slots.get(arn)
        if slot is None or slot.token is None or slot.revision != revision:
            return None
        expires_at = slot.token.expires_at
        if expires_at is not None and expires_at - self._clock() <= self._refresh_margin:
            return None
        return TokenOutcome(token=slot.token, generation=slot.generation)

    async def obtain(
        self, arn: str, revision: int, exchange: Callable[[], Awaitable[TokenOutcome]]
    ) -> TokenOutcome:
        """Join the exchange in flight for this revision, or start one.

        Args:
            arn: The connection ARN.
            revision: The record revision the token is for.
            exchange: Performs the exchange and installs its result; must not raise.
        """
        slot = self._slots.setdefault(arn, _Slot())
        loop = asyncio.get_running_loop()
        task = slot.inflight
        if (
            task is None
            or task.done()
            or slot.inflight_revision != revision
            or task.get_loop() is not loop
        ):

            async def run() -> TokenOutcome:
                return await exchange()

            task = loop.create_task(run())
            self._running.add(task)
            task.add_done_callback(self._running.discard)
            slot.inflight = task
            slot.inflight_revision = revision
        return await asyncio.shield(task)

    def install(self, arn: str, revision: int, token: OAuthToken) -> int:
        """Cache ``token`` for this revision; returns its new generation."""
        slot = self._slots.setdefault(arn, _Slot())
        self._next_generation += 1
        slot.token = token
        slot.generation = self._next_generation
        slot.revision = revision
        return slot.generation

    def reject(self, arn: str, generation: int) -> bool:
        """Drop the token if it is still ``generation``; True when it was dropped."""
        slot = self._slots.get(arn)
        if slot is None or slot.token is None or slot.generation != generation:
            return False
        slot.token = None
        return True

    def drop_token(self, arn: str) -> None:
        """Drop the cached token (an exchange in flight may still install a new one)."""
        slot = self._slots.get(arn)
        if slot is not None:
            slot.token = None

    def forget(self, arn: str) -> None:
        """Forget everything about a connection (updated, deauthorized or deleted)."""
        slot = self._slots.pop(arn, None)
        if slot is not None:
            slot.token = None
