"""The connections registry: EventBridge's connection API over records and encrypted secrets.

:class:`Connections` keeps connection records (no secrets) and their encrypted secrets, and
answers the control-plane operations with AWS-shaped dicts (so the ``events`` JSON API is a thin
layer over it). Resolving a connection ARN into a
:class:`~stepline.connections.ResolvedConnection` at the moment of a request — the HTTP Task's
way in — is the mixin :class:`~stepline.connections._resolver.ConnectionResolution`.

States (spec §6.3): ``BASIC``/``API_KEY`` connections are ``AUTHORIZED`` as soon as they are
created or updated (``ACTIVE`` with ``InvocationConnectivityParameters``). OAuth connections are
``AUTHORIZING`` until their first token exchange — done lazily by the first :meth:`resolve`, or
explicitly by :meth:`authorize` — then ``AUTHORIZED``, or ``DEAUTHORIZED`` with a
``StateReason`` when the exchange fails. An update re-authorizes; ``DeauthorizeConnection``
removes the secret values and leaves ``DEAUTHORIZED``.
"""

from __future__ import annotations

import re
import secrets
import string
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import replace
from typing import Any, Final

from stepline._secret import Secret
from stepline.asl._errors import StatesError
from stepline.connections._cipher import SecretCipher
from stepline.connections._convenience import ConvenienceConstructors
from stepline.connections._errors import (
    ConnectionAlreadyExists,
    ConnectionLimitExceeded,
    ConnectionNotFound,
    ConnectionValidationError,
    SecretDecryptError,
)
from stepline.connections._listing import next_token, parse_list_request
from stepline.connections._model import (
    CLIENT_KEY_SECRET,
    CONNECTION_ARN,
    OAUTH_CLIENT_CREDENTIALS,
    USABLE_STATES,
    ConnectionRecord,
    PrivateResource,
    partition_of,
)
from stepline.connections._resolver import ConnectionResolution
from stepline.connections._secrets import InMemorySecretStore, SecretStore
from stepline.connections._shapes import describe_shape, mutation_shape, summary_shape
from stepline.connections._tokens import TokenCache
from stepline.connections._validate import (
    ConnectionSpec,
    parse_create,
    parse_name,
    parse_update,
)
from stepline.egress._messages import Transport

__all__ = ["Connections"]

_REGION: Final = re.compile(r"[a-z]{2}(-[a-z]+)+-\d+")
_ACCOUNT: Final = re.compile(r"\d{12}")
_SUFFIX_ALPHABET: Final = string.ascii_letters + string.digits
_DEAUTHORIZED_REASON: Final = (
    "DeauthorizeConnection removed the authorization parameters; "
    "update the connection with new ones to use it again"
)


class Connections(ConvenienceConstructors, ConnectionResolution):
    """EventBridge connections for one account and Region, with their secrets encrypted at rest.

    Args:
        region: The Region in ARNs.
        account: The 12-digit account id in ARNs.
        secret_store: Where secrets are kept; an :class:`InMemorySecretStore` with a fresh
            random key (lost when the process ends) when ``None``.
        transport: Sends OAuth token requests; required only for OAuth connections.
        clock: Seconds since the epoch (timestamps and token expiry).
        token_timeout: Seconds allowed for one token exchange.
        max_connections: Refuse to create more than this many (``LimitExceededException``);
            ``None`` for no limit.
        resolved_ttl: Seconds a resolved connection (its decrypted credentials) is reused by
            later calls while the connection is unchanged; ``0`` decrypts for every call. Any
            change to the connection, and a new OAuth token, take effect at once; a secret
            removed from the store behind the registry's back is noticed within this time.
    """

    def __init__(
        self,
        *,
        region: str = "us-east-1",
        account: str = "123456789012",
        secret_store: SecretStore | None = None,
        transport: Transport | None = None,
        clock: Callable[[], float] = time.time,
        token_timeout: float = 60.0,
        max_connections: int | None = None,
        resolved_ttl: float = 1.0,
    ) -> None:
        if not _REGION.fullmatch(region):
            raise ValueError(f"region must look like us-east-1, got {region!r}.")
        if not _ACCOUNT.fullmatch(account):
            raise ValueError(f"account must be 12 digits, got {account!r}.")
        self._region = region
        self._account = account
        self._partition = partition_of(region)
        self._store: SecretStore = (
            secret_store
            if secret_store is not None
            else InMemorySecretStore(SecretCipher(SecretCipher.generate_key()))
        )
        self._transport = transport
        self._clock = clock
        self._token_timeout = token_timeout
        self._max_connections = max_connections
        self._records: dict[str, ConnectionRecord] = {}
        self._lock = threading.RLock()
        self._tokens = TokenCache(clock)
        self._resolved_ttl = resolved_ttl
        self._resolved = {}

    @property
    def transport(self) -> Transport | None:
        """What sends OAuth token requests when :meth:`resolve` is given no transport."""
        return self._transport

    @property
    def region(self) -> str:
        """The Region in this registry's ARNs."""
        return self._region

    @property
    def account(self) -> str:
        """The account id in this registry's ARNs."""
        return self._account

    def __repr__(self) -> str:
        return (
            f"Connections(region={self._region!r}, account={self._account!r}, "
            f"{len(self._records)} connections)"
        )

    # -- control plane ----------------------------------------------------------------------

    def create(
        self, request: Mapping[str, Any], *, connection_arn: str | None = None
    ) -> dict[str, Any]:
        """CreateConnection.

        Args:
            request: The CreateConnection request, in AWS's shape.
            connection_arn: Extension: the ARN the connection answers to, instead of a fresh
                one, so that a definition written for AWS (which names the connection by an
                ARN ending in AWS's id) runs unchanged. Its partition, Region, account and
                name must be this registry's and the request's.

        Raises:
            ConnectionValidationError: The request is invalid.
            ConnectionAlreadyExists: The name is taken.
            ConnectionLimitExceeded: ``max_connections`` is reached.
        """
        spec = parse_create(request)
        with self._lock:
            if spec.name in self._records:
                raise ConnectionAlreadyExists(
                    f"A connection named {spec.name!r} already exists: choose another name, "
                    "or change it with UpdateConnection."
                )
            if self._max_connections is not None and len(self._records) >= self._max_connections:
                raise ConnectionLimitExceeded(
                    f"This registry holds its maximum of {self._max_connections} connections: "
                    "delete one you no longer use, or raise max_connections."
                )
            now = self._clock()
            prefix = f"arn:{self._partition}"
            arn = (
                f"{prefix}:events:{self._region}:{self._account}:"
                f"connection/{spec.name}/{uuid.uuid4()}"
            )
            if connection_arn is not None:
                arn = self._chosen_arn(connection_arn, spec.name)
            suffix = "".join(secrets.choice(_SUFFIX_ALPHABET) for _ in range(6))
            secret_arn = (
                f"{prefix}:secretsmanager:{self._region}:{self._account}:secret:"
                f"events!connection/{spec.name}/{uuid.uuid4()}-{suffix}"
            )
            self._store.put(secret_arn, spec.secrets)
            record = self._apply(spec, None, arn=arn, secret_arn=secret_arn, now=now)
            self._records[spec.name] = record
        return mutation_shape(record, authorized_time=False)

    def _chosen_arn(self, connection_arn: str, name: str) -> str:
        match = (
            CONNECTION_ARN.fullmatch(connection_arn) if isinstance(connection_arn, str) else None
        )
        expected = f"arn:{self._partition}:events:{self._region}:{self._account}:connection/{name}/"
        if match is None or not connection_arn.startswith(expected):
            raise ConnectionValidationError(
                f"connection_arn must be an ARN of the form {expected}<id> (this registry's "
                f"partition, Region and account, and the connection's name {name!r}); create "
                "the registry with the region and account your definitions use."
            )
        # The name is in the ARN, so the name's uniqueness makes the ARN unique too.
        return connection_arn

    def update(self, request: Mapping[str, Any]) -> dict[str, Any]:
        """UpdateConnection: a partial update that re-authorizes the connection.

        Raises:
            ConnectionValidationError: The request is invalid.
            ConnectionNotFound: No connection has this name.
        """
        if not isinstance(request, Mapping):
            raise ConnectionValidationError("The request must be an object.")
        name = parse_name(request.get("Name"))
        with self._lock:
            current = self._require(name)
            try:
                current_secrets: Mapping[str, Secret] = self._store.get(current.secret_arn) or {}
            except SecretDecryptError:
                current_secrets = {}
            spec = parse_update(request, current, current_secrets)
            self._store.put(current.secret_arn, spec.secrets)
            record = self._apply(
                spec, current, arn=current.arn, secret_arn=current.secret_arn, now=self._clock()
            )
            self._records[name] = record
            self._forget_credentials(record.arn)
        return mutation_shape(record)

    def describe(self, name: str) -> dict[str, Any]:
        """DescribeConnection: never a password, key value, client secret or secret value.

        Raises:
            ConnectionNotFound: No connection has this name.
        """
        with self._lock:
            record = self._require(parse_name(name))
        return describe_shape(record)

    def list(self, request: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """ListConnections: by name, filtered by ``NamePrefix`` and ``ConnectionState``.

        Raises:
            ConnectionValidationError: A filter or ``Limit`` is invalid.
            InvalidPaginationToken: ``NextToken`` was not issued for this query.
        """
        query = parse_list_request(request)
        with self._lock:
            names = sorted(
                name
                for name, record in self._records.items()
                if (query.prefix is None or name.startswith(query.prefix))
                and (query.state is None or record.state == query.state)
                and (query.after is None or name > query.after)
            )
            page = [self._records[name] for name in names[: query.limit]]
        response: dict[str, Any] = {"Connections": [summary_shape(r) for r in page]}
        if len(names) > query.limit:
            response["NextToken"] = next_token(page[-1].name, query)
        return response

    def delete(self, name: str) -> dict[str, Any]:
        """DeleteConnection: the record, its secret and its token go.

        Raises:
            ConnectionNotFound: No connection has this name.
        """
        with self._lock:
            record = self._require(parse_name(name))
            del self._records[record.name]
            self._store.delete(record.secret_arn)
            self._forget_credentials(record.arn)
        # AWS deletes asynchronously and reports the transitional state.
        return mutation_shape(record, state="DELETING")

    def deauthorize(self, name: str) -> dict[str, Any]:
        """DeauthorizeConnection: removes the secret values; the connection is DEAUTHORIZED.

        The non-secret parameters (user name, key name, client id, endpoint, parameter keys)
        stay, so an update that sends only the secrets authorizes it again. The TLS client key
        (an extension, not an authorization parameter) is kept.

        Raises:
            ConnectionNotFound: No connection has this name.
        """
        with self._lock:
            current = self._require(parse_name(name))
            try:
                kept = self._store.get(current.secret_arn) or {}
            except SecretDecryptError:
                kept = {}
            client_key = kept.get(CLIENT_KEY_SECRET)
            if client_key is not None:
                self._store.put(current.secret_arn, {CLIENT_KEY_SECRET: client_key})
            else:
                self._store.delete(current.secret_arn)
            record = replace(
                current,
                state="DEAUTHORIZED",
                state_reason=_DEAUTHORIZED_REASON,
                last_modified_time=self._clock(),
                revision=current.revision + 1,
            )
            self._records[record.name] = record
            self._forget_credentials(record.arn)
        return mutation_shape(record, state="DEAUTHORIZING")

    def records(self) -> tuple[ConnectionRecord, ...]:
        """Every connection record, by name (no secrets): what a restarted process reloads."""
        with self._lock:
            return tuple(self._records[name] for name in sorted(self._records))

    def load_records(
        self, records: Iterable[ConnectionRecord], *, keep_unchanged: bool = False
    ) -> None:
        """Replace every record with ``records`` (as :meth:`records` returned them).

        For restoring a registry after a restart: the secrets are expected in the secret store
        already, under each record's ``secret_arn``. Tokens and resolved credentials are
        forgotten (OAuth connections fetch a new token on their next use).

        Args:
            records: The records.
            keep_unchanged: Keep the record this registry holds (with its state, token and
                resolved credentials) for each connection whose ARN and revision did not
                change: for a process that reloads what other processes changed.

        Raises:
            ValueError: Two records have the same name.
        """
        loaded: dict[str, ConnectionRecord] = {}
        for record in records:
            if record.name in loaded:
                raise ValueError(f"Two connection records are named {record.name!r}.")
            loaded[record.name] = record
        with self._lock:
            for name, current in self._records.items():
                new = loaded.get(name)
                if (
                    keep_unchanged
                    and new is not None
                    and new.arn == current.arn
                    and new.revision == current.revision
                ):
                    loaded[name] = current
                    continue
                self._tokens.forget(current.arn)
                self._resolved.pop(current.arn, None)
            self._records = loaded
            if not keep_unchanged:
                self._resolved.clear()

    def get(self, arn_or_name: str) -> ConnectionRecord | None:
        """The record for a connection ARN or name (no secrets), or ``None``."""
        with self._lock:
            if arn_or_name.startswith("arn:"):
                match = CONNECTION_ARN.fullmatch(arn_or_name)
                record = self._records.get(match["name"]) if match else None
                return record if record is not None and record.arn == arn_or_name else None
            return self._records.get(arn_or_name)

    def secret_arn(self, connection_arn: str) -> str | None:
        """The ``SecretArn`` of a connection (for the HTTP Task's permission check), or ``None``."""
        record = self.get(connection_arn)
        return None if record is None else record.secret_arn

    async def authorize(self, name: str, *, transport: Transport | None = None) -> dict[str, Any]:
        """Exchange an OAuth connection's credentials for a token now (through ``transport``, else
        the registry's own).

        Returns the DescribeConnection response afterwards: ``AUTHORIZED``, or
        ``DEAUTHORIZED`` with the reason in ``StateReason``. For Basic and API-key
        connections nothing needs exchanging and the description is returned as it is.

        Raises:
            ConnectionNotFound: No connection has this name.
        """
        with self._lock:
            record = self._require(parse_name(name))
        if record.authorization_type == OAUTH_CLIENT_CREDENTIALS and record.state in (
            *USABLE_STATES,
            "AUTHORIZING",
        ):
            try:
                secret_values = self._read_secrets(record)
                self._tokens.drop_token(record.arn)
                await self._new_token(record, secret_values, transport or self._transport)
            except StatesError:
                pass  # the state and its reason are in the description
        return self.describe(name)

    # -- internals ----------------------------------------------------------------------------

    def _require(self, name: str) -> ConnectionRecord:
        record = self._records.get(name)
        if record is None:
            raise ConnectionNotFound(
                f"Connection {name!r} does not exist in {self._region} for account "
                f"{self._account}: check the name (ListConnections shows them) or create it."
            )
        return record

    def _apply(
        self,
        spec: ConnectionSpec,
        current: ConnectionRecord | None,
        *,
        arn: str,
        secret_arn: str,
        now: float,
    ) -> ConnectionRecord:
        oauth = spec.authorization_type == OAUTH_CLIENT_CREDENTIALS
        if oauth:
            state = "AUTHORIZING"
        else:
            state = "ACTIVE" if spec.invocation_connectivity_arn else "AUTHORIZED"
        last_authorized = None if current is None else current.last_authorized_time
        if not oauth:
            last_authorized = now
        return ConnectionRecord(
            name=spec.name,
            arn=arn,
            secret_arn=secret_arn,
            authorization_type=spec.authorization_type,
            auth=spec.auth,
            state=state,
            state_reason=None,
            description=spec.description,
            kms_key_identifier=spec.kms_key_identifier,
            invocation_http_parameters=spec.invocation_http_parameters,
            connectivity_parameters=self._private(
                spec.connectivity_arn, current.connectivity_parameters if current else None
            ),
            invocation_connectivity_parameters=self._private(
                spec.invocation_connectivity_arn,
                current.invocation_connectivity_parameters if current else None,
            ),
            creation_time=now if current is None else current.creation_time,
            last_modified_time=now,
            last_authorized_time=last_authorized,
            tls=spec.tls,
            limits=spec.limits,
            revision=1 if current is None else current.revision + 1,
        )

    def _private(
        self, configuration_arn: str | None, current: PrivateResource | None
    ) -> PrivateResource | None:
        if configuration_arn is None:
            return None
        if current is not None and current.resource_configuration_arn == configuration_arn:
            return current
        association = "snra-" + "".join(
            secrets.choice(string.ascii_lowercase + string.digits) for _ in range(17)
        )
        return PrivateResource(
            configuration_arn,
            f"arn:{self._partition}:vpc-lattice:{self._region}:{self._account}:"
            f"servicenetworkresourceassociation/{association}",
        )
