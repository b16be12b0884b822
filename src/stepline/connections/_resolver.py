"""The HTTP Task's way into :class:`~stepline.connections.Connections`: credentials at call time.

:class:`ConnectionResolution` is the half of the registry an HTTP Task uses:
:meth:`~ConnectionResolution.resolve` turns a connection ARN into a
:class:`~stepline.connections.ResolvedConnection` (decrypting the secrets, fetching an OAuth token
when needed) and :meth:`~ConnectionResolution.token_rejected` drops a token a target refused.
It also owns the transitions a token exchange causes: an OAuth connection becomes ``AUTHORIZED``
when its token arrives, ``DEAUTHORIZED`` (with the reason) when the exchange fails or its secret
is gone.

The registry's control plane (``_registry``) sets up the state this mixin works on and calls
:meth:`~ConnectionResolution._forget_credentials` whenever a connection changes.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import Any

from stepline._secret import Secret
from stepline.asl._errors import RUNTIME, StatesError
from stepline.connections._errors import (
    CONCURRENT_MODIFICATION,
    INTERNAL_ERROR,
    INVALID_CONNECTION_STATE,
    RESOURCE_NOT_FOUND,
    SecretDecryptError,
)
from stepline.connections._model import (
    CONNECTION_ARN,
    OAUTH_CLIENT_CREDENTIALS,
    USABLE_STATES,
    ConnectionRecord,
    OAuthClientCredentials,
)
from stepline.connections._oauth import TokenExchangeFailed, exchange_token
from stepline.connections._resolved import ResolvedConnection
from stepline.connections._resolving import build_resolved, tls_options
from stepline.connections._secrets import SecretStore
from stepline.connections._tokens import TokenCache, TokenOutcome
from stepline.egress._messages import Transport

__all__ = ["ConnectionResolution", "ResolvedCache"]

ResolvedCache = dict[str, tuple[ConnectionRecord, int | None, float, ResolvedConnection]]
"""arn -> (record, token generation, monotonic expiry, resolved connection)."""


class ConnectionResolution:
    """Resolving connections for HTTP Tasks; a mixin of :class:`~stepline.connections.Connections`.

    The registry's ``__init__`` sets every attribute declared here.
    """

    # Shared with the control plane.
    _records: dict[str, ConnectionRecord]
    _lock: threading.RLock
    _store: SecretStore
    _transport: Transport | None
    _clock: Callable[[], float]
    _tokens: TokenCache
    # Owned here: decrypting for every call costs more than the rest of resolving.
    _resolved: ResolvedCache
    _resolved_ttl: float
    _token_timeout: float

    async def resolve(
        self, connection_arn: str, *, transport: Transport | None = None
    ) -> ResolvedConnection:
        """The connection, ready to apply to one request (secrets as :class:`Secret`).

        OAuth connections get a token first if they have none, or if theirs expires within
        60 seconds (one token request however many callers are waiting). The token request
        goes through ``transport`` (the caller's, so that its egress rules apply), else
        through the registry's own.

        Raises:
            StatesError: ``Events.ConnectionResource.ResourceNotFound`` (malformed or unknown
                ARN), ``…InvalidConnectionState`` (not usable, or the token exchange failed),
                ``…ConcurrentModification`` (changed during the exchange), ``…InternalError``
                (the secret cannot be decrypted, or no transport for OAuth).
        """
        record = self._record_for_arn(connection_arn)
        oauth = record.authorization_type == OAUTH_CLIENT_CREDENTIALS
        if record.state not in USABLE_STATES and not (oauth and record.state == "AUTHORIZING"):
            raise _invalid_state(record)
        outcome: TokenOutcome | None = None
        if oauth:
            outcome = self._tokens.current(record.arn, record.revision)
        generation = None if outcome is None else outcome.generation
        cached = self._resolved.get(record.arn)
        now = time.monotonic()
        if (
            cached is not None
            and cached[0] is record
            and cached[1] == generation
            and now < cached[2]
            and (outcome is not None or not oauth)
        ):
            return cached[3]
        secret_values = self._read_secrets(record)
        if oauth and outcome is None:
            outcome = await self._new_token(record, secret_values, transport or self._transport)
        resolved = build_resolved(record, secret_values, outcome)
        if self._resolved_ttl > 0:
            generation = None if outcome is None else outcome.generation
            self._resolved[record.arn] = (record, generation, now + self._resolved_ttl, resolved)
        return resolved

    async def token_rejected(self, connection_arn: str, generation: int | None) -> None:
        """A target answered 401/407 to the token of ``generation``: drop it if still current.

        The next :meth:`resolve` then fetches a new token; rejections of an older generation
        (already replaced) change nothing.
        """
        if generation is not None:
            self._tokens.reject(connection_arn, generation)

    def _forget_credentials(self, connection_arn: str) -> None:
        """Drop the token and the resolved credentials of a connection that changed or went."""
        self._tokens.forget(connection_arn)
        self._resolved.pop(connection_arn, None)

    def _record_for_arn(self, connection_arn: str) -> ConnectionRecord:
        match = (
            CONNECTION_ARN.fullmatch(connection_arn) if isinstance(connection_arn, str) else None
        )
        if match is None:
            raise StatesError(
                RESOURCE_NOT_FOUND,
                f"{connection_arn!r} is not a connection ARN: the task's ConnectionArn must look "
                "like arn:aws:events:<region>:<account>:connection/<name>/<id>, as returned by "
                "CreateConnection or DescribeConnection.",
            )
        with self._lock:
            record = self._records.get(match["name"])
        if record is None or record.arn != connection_arn:
            raise StatesError(
                RESOURCE_NOT_FOUND,
                f"The connection {connection_arn} does not exist (never created here, or "
                "deleted since). Create it, or point the task's ConnectionArn at an existing "
                "connection (ListConnections shows them).",
            )
        return record

    def _read_secrets(self, record: ConnectionRecord) -> dict[str, Secret]:
        try:
            values = self._store.get(record.secret_arn)
        except SecretDecryptError as error:
            raise StatesError(
                INTERNAL_ERROR,
                f"The credentials of connection {record.arn} cannot be decrypted: {error}",
            ) from None
        if values is None:
            reason = "the connection's secret no longer exists in the secret store"
            self._deauthorize_for(record, reason)
            raise StatesError(
                INVALID_CONNECTION_STATE,
                f"The connection {record.arn} is now DEAUTHORIZED: {reason}. "
                "Update the connection with its credentials to authorize it again.",
            )
        return values

    def _deauthorize_for(self, record: ConnectionRecord, reason: str) -> bool:
        """Mark the connection DEAUTHORIZED if it is still this revision; True if done."""
        with self._lock:
            current = self._records.get(record.name)
            if current is None or current.arn != record.arn or current.revision != record.revision:
                return False
            self._records[record.name] = replace(
                current, state="DEAUTHORIZED", state_reason=reason[:512]
            )
            self._tokens.drop_token(record.arn)
            return True

    async def _new_token(
        self,
        record: ConnectionRecord,
        secret_values: Mapping[str, Secret],
        transport: Transport | None,
    ) -> TokenOutcome:
        if transport is None:
            raise StatesError(
                INTERNAL_ERROR,
                f"The connection {record.arn} uses OAuth, but this Connections registry was "
                "made without a transport to request tokens with: pass "
                "transport=Http1Transport(...) to Connections().",
            )
        auth = record.auth
        assert isinstance(auth, OAuthClientCredentials)
        tls = tls_options(record, secret_values)

        async def exchange() -> TokenOutcome:
            try:
                token = await exchange_token(
                    transport,
                    auth,
                    secret_values,
                    now=self._clock(),
                    tls=tls,
                    timeout=self._token_timeout,
                )
            except TokenExchangeFailed as failure:
                if failure.refused:
                    # The egress rules, not the connection, are at fault: an operator fixes
                    # them, and the connection must not need re-authorizing afterwards.
                    return TokenOutcome(
                        error=RUNTIME,
                        cause=(
                            f"The authorization endpoint of the connection {record.arn} may not "
                            f"be reached: {failure.reason}."
                        ),
                    )
                reason = failure.reason
            except Exception as error:  # a transport bug must not leave callers hanging
                reason = f"the token request failed unexpectedly ({type(error).__name__})"
            else:
                return self._install(record, token)
            if not self._deauthorize_for(record, reason):
                return _changed(record)
            return TokenOutcome(
                error=INVALID_CONNECTION_STATE,
                cause=(
                    f"The connection {record.arn} could not be authorized and is now "
                    f"DEAUTHORIZED: {reason}. Fix the OAuth parameters or the authorization "
                    "server, then update the connection to authorize it again."
                ),
            )

        outcome = await self._tokens.obtain(record.arn, record.revision, exchange)
        if outcome.token is None:
            raise StatesError(outcome.error, outcome.cause)
        return outcome

    def _install(self, record: ConnectionRecord, token: Any) -> TokenOutcome:
        with self._lock:
            current = self._records.get(record.name)
            if current is None or current.arn != record.arn or current.revision != record.revision:
                return _changed(record)
            final = "ACTIVE" if current.invocation_connectivity_parameters else "AUTHORIZED"
            self._records[record.name] = replace(
                current, state=final, state_reason=None, last_authorized_time=self._clock()
            )
            generation = self._tokens.install(record.arn, record.revision, token)
        return TokenOutcome(token=token, generation=generation)


def _changed(record: ConnectionRecord) -> TokenOutcome:
    return TokenOutcome(
        error=CONCURRENT_MODIFICATION,
        cause=(
            f"The connection {record.arn} was updated, deauthorized or deleted while its OAuth "
            "token was being requested; retry the task."
        ),
    )


def _invalid_state(record: ConnectionRecord) -> StatesError:
    reason = f" ({record.state_reason})" if record.state_reason else ""
    return StatesError(
        INVALID_CONNECTION_STATE,
        f"The connection {record.arn} is {record.state}{reason}; an HTTP Task can use only "
        "an AUTHORIZED or ACTIVE connection. Update the connection (UpdateConnection) with "
        "valid credentials to authorize it again.",
    )
