"""Connections and IAM records kept in the store: every process of a deployment sees one set.

Each process keeps working copies — the :class:`~stepline.connections.Connections` registry
(its secrets in an :class:`~stepline.connections.InMemorySecretStore`: ciphertext) and the
:class:`~stepline.policy.Roles` registry — and the store holds the truth
(:class:`~stepline.store.ServiceRecord`: one per connection, with its secret's ciphertext, and
one IAM document). Secrets stay encrypted at rest exactly as before: the ciphertext the
process's :class:`~stepline.connections.SecretCipher` made is what the store keeps, so every
process of a deployment needs the same ``STEPLINE_SECRET_KEY`` (or key file).

Freshness: a copy is checked against the store's generation of its kind at most every
``ttl`` seconds (one small read) and reloaded when it changed; a change made through this
process is written to the store before its response goes out (a conditional write on the
version it read: a lost race is retried on fresh data); an HTTP Task naming a connection this
process does not know looks again at once. So a connection created on one API process is
usable by every worker right away, and a change reaches the others within ``ttl``.

Import: the first process that opens a store next to ``connections.json`` / ``iam.json`` (the
files earlier versions kept in the data directory) copies them into the store (the secrets'
ciphertext from the secret files as it is) and renames them ``*.imported``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import weakref
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, TypeVar

import orjson

from stepline.connections import (
    ConnectionConflict,
    Connections,
    InMemorySecretStore,
    SecretCipher,
)
from stepline.policy import Roles
from stepline.service._events_files import RecordsFileError, read_json_file
from stepline.store import KIND_CONNECTION, KIND_IAM, Store, StoreConflict

if TYPE_CHECKING:
    from stepline.service._context import ServiceContext

__all__ = ["SharedRecords", "records_of", "register_records"]

T = TypeVar("T")

_log = logging.getLogger("stepline.service")

DEFAULT_TTL_SECONDS: Final = 1.0
_IAM_NAME: Final = "state"
_CHANGE_ATTEMPTS: Final = 3
_IMPORTED_SUFFIX: Final = ".imported"
CONNECTIONS_FILE: Final = "connections.json"
IAM_FILE: Final = "iam.json"
SECRETS_DIRECTORY: Final = "secrets"


class SharedRecords:
    """Keeps this process's connections and roles in step with the store.

    Args:
        store: The store.
        connections: The registry the ``events`` API and HTTP Tasks use.
        secrets: The registry's secret store.
        roles: The registry the ``iam`` API and the policy checks use.
        ttl: Seconds a copy is trusted before the store's generation is read again.
        clock: Monotonic seconds (tests pass a fake one).
    """

    def __init__(
        self,
        store: Store,
        connections: Connections,
        secrets: InMemorySecretStore,
        roles: Roles,
        *,
        ttl: float = DEFAULT_TTL_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.store = store
        self.connections = connections
        self.secrets = secrets
        self.roles = roles
        self.ttl = ttl
        self._clock = clock
        self._lock = asyncio.Lock()
        # Per kind: the generation the copy reflects and when it was last checked.
        self._generations: dict[str, int] = {KIND_CONNECTION: -1, KIND_IAM: -1}
        self._checked: dict[str, float] = {KIND_CONNECTION: -1e18, KIND_IAM: -1e18}
        self._versions: dict[str, int] = {}
        self._iam_version: int | None = None

    # ------------------------------------------------------------------------ reading

    async def refresh(self, *, force: bool = False) -> None:
        """Bring both copies up to date (at most one generation read per kind per ``ttl``)."""
        await self.refresh_connections(force=force)
        await self.refresh_iam(force=force)

    def _due(self, kind: str, force: bool) -> bool:
        return force or self._clock() - self._checked[kind] >= self.ttl

    async def _stale(self, kind: str) -> bool:
        self._checked[kind] = self._clock()
        generation = await self.store.service_records_generation(kind)
        return generation != self._generations[kind]

    async def refresh_connections(self, *, force: bool = False) -> None:
        """Reload the connections when the store's changed (checked every ``ttl``)."""
        if self._due(KIND_CONNECTION, force):
            # Under the lock of the changes: a reload never lands between a change applied
            # to the copy and its write to the store.
            async with self._lock:
                await self._reload_connections()

    async def _reload_connections(self) -> None:
        if not await self._stale(KIND_CONNECTION):
            return
        from stepline.service._events_records import decode_record

        generation, stored = await self.store.list_service_records(KIND_CONNECTION)
        records, blobs, versions = [], {}, {}
        for row in stored:
            record = decode_record(orjson.loads(row.document))
            records.append(record)
            versions[record.name] = row.version
            if row.secret is not None:
                blobs[record.secret_arn] = row.secret
        # Unchanged records keep their identity, so that resolved credentials and OAuth
        # tokens cached for them survive a reload caused by another connection's change.
        self.secrets.replace_ciphertexts(blobs)
        self.connections.load_records(records, keep_unchanged=True)
        self._versions = versions
        self._generations[KIND_CONNECTION] = generation

    async def refresh_iam(self, *, force: bool = False) -> None:
        """Reload roles and policies when the store's changed (checked every ``ttl``)."""
        if self._due(KIND_IAM, force):
            async with self._lock:
                await self._reload_iam()

    async def _reload_iam(self) -> None:
        if not await self._stale(KIND_IAM):
            return
        generation, stored = await self.store.list_service_records(KIND_IAM)
        if stored:
            self.roles.load_state(orjson.loads(stored[0].document))
            self._iam_version = stored[0].version
        else:
            self.roles.load_state(_empty_iam(self.roles))
            self._iam_version = None
        self._generations[KIND_IAM] = generation

    # ------------------------------------------------------------------------ changing

    async def change_connection(self, name: str, operation: Callable[[], T]) -> T:
        """Run a control-plane ``operation`` on the registry and store its effect on ``name``.

        Runs on fresh data; when another process changed the connection between that read
        and this write, the copy is reloaded and the operation runs again (it decides anew:
        created meanwhile is ``ResourceAlreadyExists``…).

        Raises:
            ConnectionsError: The operation refused (nothing is stored).
            ConnectionConflict: Lost the race ``_CHANGE_ATTEMPTS`` times in a row.
        """
        from stepline.service._events_records import encode_record

        async with self._lock:
            for _ in range(_CHANGE_ATTEMPTS):
                await self._reload_connections()
                expected = self._versions.get(name)
                response = operation()
                record = self.connections.get(name)
                try:
                    if record is None:
                        if expected is not None:
                            await self.store.delete_service_record(
                                KIND_CONNECTION, name, expected_version=expected
                            )
                            del self._versions[name]
                    else:
                        document = orjson.dumps(encode_record(record)).decode()
                        stored = await self.store.put_service_record(
                            KIND_CONNECTION,
                            name,
                            document,
                            secret=self.secrets.ciphertext(record.secret_arn),
                            expected_version=expected,
                        )
                        self._versions[name] = stored.version
                except StoreConflict:
                    self._generations[KIND_CONNECTION] = -1  # reload: the copy is wrong
                    continue
                except BaseException:
                    self._generations[KIND_CONNECTION] = -1
                    raise
                await self._caught_up(KIND_CONNECTION)
                return response
        raise ConnectionConflict(
            f"Connection {name!r} was changed by another request at the same time, again and "
            "again; retry the request."
        )

    async def change_iam(self, operation: Callable[[], T]) -> T:
        """Run an IAM change on the registry and store the new IAM state (as
        :meth:`change_connection` does; on losing the race ``_CHANGE_ATTEMPTS`` times the last
        :class:`StoreConflict` is raised)."""
        async with self._lock:
            for attempt in range(_CHANGE_ATTEMPTS):
                await self._reload_iam()
                expected = self._iam_version
                result = operation()
                document = orjson.dumps(self.roles.export_state()).decode()
                try:
                    stored = await self.store.put_service_record(
                        KIND_IAM, _IAM_NAME, document, secret=None, expected_version=expected
                    )
                except StoreConflict:
                    self._generations[KIND_IAM] = -1
                    if attempt + 1 == _CHANGE_ATTEMPTS:
                        raise
                    continue
                except BaseException:
                    self._generations[KIND_IAM] = -1
                    raise
                self._iam_version = stored.version
                await self._caught_up(KIND_IAM)
                return result
        raise AssertionError("unreachable")  # pragma: no cover

    async def _caught_up(self, kind: str) -> None:
        """After this process's own write: skip the reload it would cause, unless someone
        else wrote too."""
        generation = await self.store.service_records_generation(kind)
        if generation == self._generations[kind] + 1:
            self._generations[kind] = generation
        self._checked[kind] = self._clock()

    # ------------------------------------------------------------------------ import

    async def import_files(self, directory: Path, cipher: SecretCipher) -> None:
        """Copy ``connections.json`` (with the secret files) and ``iam.json`` into the store
        once, then rename them ``*.imported``.

        Raises:
            RecordsFileError: A file exists but cannot be read back.
        """
        await self._import_connections(directory)
        await self._import_iam(directory)

    async def _import_connections(self, directory: Path) -> None:
        from stepline.connections import FileSecretStore
        from stepline.service._events_records import decode_record, encode_record

        path = directory / CONNECTIONS_FILE
        document = read_json_file(path, "connection records")
        if document is None:
            return
        try:
            if document.get("format") != 1:
                raise ValueError(f"format {document.get('format')!r}")
            records = [decode_record(entry) for entry in document["connections"]]
        except (AttributeError, KeyError, TypeError, ValueError) as exc:
            raise RecordsFileError(
                f"The connection records file {path} is not one this version of stepline "
                f"wrote ({type(exc).__name__}: {exc}); restore it from a backup, or move it "
                "away to start without connections (their secrets stay in the secret store)."
            ) from None
        files = FileSecretStore(directory / SECRETS_DIRECTORY, SecretCipher(bytes(32)))
        imported = 0
        for record in records:
            secret_file = files.path_for(record.secret_arn)
            blob = secret_file.read_bytes() if secret_file.exists() else None
            try:
                await self.store.put_service_record(
                    KIND_CONNECTION,
                    record.name,
                    orjson.dumps(encode_record(record)).decode(),
                    secret=blob,
                    expected_version=None,
                )
                imported += 1
            except StoreConflict:
                _log.warning(
                    "connection %r from %s is in the database already; kept the database's",
                    record.name,
                    path,
                )
        _renamed(path)
        _log.warning("imported %d connection(s) from %s into the database", imported, path)

    async def _import_iam(self, directory: Path) -> None:
        path = directory / IAM_FILE
        document = read_json_file(path, "IAM records")
        if document is None:
            return
        probe = Roles(account=self.roles.account)
        try:
            probe.load_state(document)
        except Exception as exc:
            raise RecordsFileError(
                f"The IAM records file {path} cannot be loaded ({type(exc).__name__}: {exc}); "
                "restore it from a backup, or move it away to start without the roles and "
                "policies it holds."
            ) from None
        try:
            await self.store.put_service_record(
                KIND_IAM,
                _IAM_NAME,
                orjson.dumps(probe.export_state()).decode(),
                secret=None,
                expected_version=None,
            )
        except StoreConflict:
            _log.warning("the database holds IAM records already; kept them, not %s", path)
        else:
            _log.warning("imported roles and policies from %s into the database", path)
        _renamed(path)


def _renamed(path: Path) -> None:
    # Another process starting at the same time may have renamed it first.
    with contextlib.suppress(FileNotFoundError):
        path.replace(path.with_name(path.name + _IMPORTED_SUFFIX))


def _empty_iam(roles: Roles) -> dict[str, Any]:
    return {
        "format": 1,
        "account": roles.account,
        "partition": roles.partition,
        "roles": [],
        "policies": [],
    }


_RECORDS: Final[weakref.WeakKeyDictionary[ServiceContext, SharedRecords]] = (
    weakref.WeakKeyDictionary()
)


def register_records(context: ServiceContext, records: SharedRecords) -> None:
    """Tie ``records`` to ``context`` (done by :func:`~stepline.service.open_context`)."""
    _RECORDS[context] = records


def records_of(context: ServiceContext) -> SharedRecords:
    """The shared records of ``context``."""
    records = _RECORDS.get(context)
    if records is None:  # a wiring bug: contexts come from open_context
        raise RuntimeError("this ServiceContext was not made by open_context")
    return records
