"""The real service on 127.0.0.1, driven by real boto3 clients: the kit every service test uses.

:func:`serve` runs :func:`stepline.service.open_context` + :func:`stepline.service.build_app`
under uvicorn (lifespan on, so the worker runs as in production) in a thread with its own event
loop, on a socket bound to 127.0.0.1:0 before the thread starts (no free-port race), and waits
until uvicorn has started. Leaving the context stops uvicorn (which stops the worker and closes
the store through the lifespan) and joins the thread; a server that will not stop fails the test
instead of hanging it.

Fixtures (this directory's ``conftest.py`` provides them to every test module here: request
them by name, without importing them):

- ``service``: one server per test module and store kind, parametrised over
  :data:`STORE_KINDS` (``memory`` and ``sqlite`` in a temporary directory) and, in the
  modules that set ``RUN_ON_POSTGRES = True`` when ``STEPLINE_TEST_POSTGRES_URL`` is set,
  ``postgres`` (a schema of its own, dropped afterwards). Shared by the module's tests, so
  give resources unique names (:func:`unique`).
- ``serve_service``: a factory ``serve_service(kind, **config_overrides) -> ServiceServer``
  for tests that need their own server (a special configuration, a restart on the same
  SQLite file); every server it started is stopped at teardown.

Each server gets its own data directory (``STEPLINE_DATA_DIR``: the secret key file and
connection secrets), so no test touches the user's real one.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import dataclasses
import itertools
import socket
import threading
import time
from collections.abc import Awaitable, Callable, Iterator, Mapping
from pathlib import Path
from typing import Any, Final, Literal, TypeVar

import boto3
import pytest
import uvicorn
from botocore.config import Config

from stepline.service import ServiceConfig, ServiceContext, build_app, open_context
from support.postgres import POSTGRES_URL, drop_schema, new_schema, schema_url

__all__ = [
    "ACCOUNT",
    "REGION",
    "ROLE_ARN",
    "STORE_KINDS",
    "ServiceServer",
    "StoreKind",
    "config_for",
    "serve",
    "serve_service",
    "service",
    "service_kinds",
    "unique",
]

StoreKind = Literal["memory", "sqlite", "postgres"]
STORE_KINDS: Final[tuple[StoreKind, ...]] = ("memory", "sqlite")
REGION: Final = "us-east-1"
ACCOUNT: Final = "123456789012"
ROLE_ARN: Final = f"arn:aws:iam::{ACCOUNT}:role/stepline-test"

_START_TIMEOUT: Final = 20.0
_STOP_TIMEOUT: Final = 20.0
_CALL_TIMEOUT: Final = 20.0
# One session for the process: botocore's loader caches parsed models per session, which makes
# each further client cheap.
_SESSION: Final = boto3.session.Session()
_NAMES = itertools.count(1)

T = TypeVar("T")


def unique(prefix: str = "sm") -> str:
    """A name no other test of this process uses (resources of a shared server must not
    collide)."""
    return f"{prefix}-{next(_NAMES)}-{time.monotonic_ns() % 1_000_000}"


def config_for(
    kind: StoreKind, directory: Path, *, schema: str | None = None, **overrides: Any
) -> ServiceConfig:
    """A :class:`ServiceConfig` for ``kind``, keeping any SQLite file in ``directory`` (and a
    PostgreSQL store in ``schema``)."""
    if kind == "postgres":
        assert schema is not None
        url = schema_url(schema)
    else:
        url = "memory://" if kind == "memory" else f"sqlite:///{directory / 'stepline.db'}"
    values: dict[str, Any] = {
        "database_url": url,
        "host": "127.0.0.1",
        "region": REGION,
        "account": ACCOUNT,
    }
    values.update(overrides)
    return ServiceConfig(**values)


class ServiceServer:
    """A running service: its address, its context, and boto3 clients for it.

    Attributes:
        config: The configuration it runs with (``port`` is the real one).
        port: The port on 127.0.0.1.
        base_url: ``http://127.0.0.1:<port>``.
        context: The service's shared parts (available once started).
        kind: The store kind, for test ids and messages.
    """

    def __init__(self, config: ServiceConfig, *, kind: str = "") -> None:
        # IPPROTO_TCP explicitly: asyncio sets TCP_NODELAY only on sockets whose proto says TCP,
        # and without it every response waits ~40 ms (Nagle vs. delayed ACK: uvicorn writes the
        # headers and the body separately).
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        self._socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._socket.bind(("127.0.0.1", 0))
        self.port: int = self._socket.getsockname()[1]
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.config = dataclasses.replace(config, host="127.0.0.1", port=self.port)
        self.kind = kind
        self._context: ServiceContext | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._server: uvicorn.Server | None = None
        self._failure: BaseException | None = None
        self._clients: dict[str, Any] = {}
        self._thread = threading.Thread(
            target=self._run, name=f"stepline-service-{self.port}", daemon=True
        )

    def __repr__(self) -> str:
        return f"ServiceServer({self.kind or self.config.database_url!r}, port={self.port})"

    @property
    def context(self) -> ServiceContext:
        """The running service's context."""
        assert self._context is not None, "the service has not started"
        return self._context

    # -- life -------------------------------------------------------------------------------

    def start(self) -> ServiceServer:
        """Start serving and return once uvicorn (and the lifespan: the worker) is up."""
        self._thread.start()
        deadline = time.monotonic() + _START_TIMEOUT
        while True:
            server = self._server
            if server is not None and server.started:
                return self
            if self._failure is not None:
                raise RuntimeError(f"{self!r} failed to start") from self._failure
            if not self._thread.is_alive():
                raise RuntimeError(f"{self!r} stopped while starting (see the log above)")
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"{self!r} did not start within {_START_TIMEOUT:.0f} s")
            time.sleep(0.01)

    def stop(self) -> None:
        """Stop uvicorn (the lifespan stops the worker and closes the store) and join."""
        server = self._server
        if server is not None:
            server.should_exit = True
        if self._thread.is_alive():
            self._thread.join(_STOP_TIMEOUT)
            if self._thread.is_alive() and server is not None:
                server.force_exit = True
                self._thread.join(_STOP_TIMEOUT)
        self._socket.close()
        for client in self._clients.values():
            client.close()
        self._clients.clear()
        if self._thread.is_alive():
            raise RuntimeError(f"{self!r} did not stop within {2 * _STOP_TIMEOUT:.0f} s")

    def __enter__(self) -> ServiceServer:
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.stop()

    def _run(self) -> None:
        try:
            asyncio.run(self._main())
        except BaseException as exc:  # reported to the starting thread
            self._failure = exc

    async def _main(self) -> None:
        self._loop = asyncio.get_running_loop()
        context = await open_context(self.config)
        self._context = context
        try:
            app = build_app(context)
            uv_config = uvicorn.Config(app, lifespan="on", log_level="warning")
            self._server = uvicorn.Server(uv_config)
            await self._server.serve(sockets=[self._socket])
        finally:
            # The lifespan closes the store; if it never ran, close it here (close is
            # idempotent).
            await context.store.close()

    # -- access -----------------------------------------------------------------------------

    def call(self, work: Callable[[ServiceContext], Awaitable[T]]) -> T:
        """Run ``work(context)`` on the server's event loop and return its result.

        For looking at (or preparing) what the store holds from a test: the store belongs to
        the server's loop and must be used there.
        """
        assert self._loop is not None, "the service has not started"
        future = asyncio.run_coroutine_threadsafe(_awaited(work, self.context), self._loop)
        try:
            return future.result(_CALL_TIMEOUT)
        except concurrent.futures.TimeoutError:
            future.cancel()
            raise

    def client(self, service: str, *, host: str = "127.0.0.1", **config: Any) -> Any:
        """A new boto3 client for ``stepfunctions``, ``events`` or ``iam``.

        Args:
            service: The boto3 service name.
            host: The endpoint host; ``localhost`` (with ``proxies={"http": base_url}``) makes
                boto3 send StartSyncExecution/TestState to ``sync-localhost``, as against AWS.
            **config: botocore ``Config`` options (``parameter_validation=False`` to send
                what boto3 would refuse).

        One attempt per call: an error surfaces at once, not after boto3's retries. With the
        default host, boto3's ``sync-`` host prefix is off (``inject_host_prefix=False``, what
        docs/service.md tells users): ``sync-127.0.0.1`` resolves nowhere.
        """
        options: dict[str, Any] = {"retries": {"max_attempts": 1, "mode": "standard"}}
        if host == "127.0.0.1":
            options["inject_host_prefix"] = False
        options.update(config)
        return _SESSION.client(
            service,  # type: ignore[call-overload]
            endpoint_url=f"http://{host}:{self.port}",
            region_name=self.config.region,
            aws_access_key_id="AKIDSTEPLINETEST",
            aws_secret_access_key="stepline-test-secret",
            config=Config(**options),
        )

    def _cached(self, service: str) -> Any:
        client = self._clients.get(service)
        if client is None:
            client = self._clients[service] = self.client(service)
        return client

    @property
    def sfn(self) -> Any:
        """A shared ``stepfunctions`` client."""
        return self._cached("stepfunctions")

    @property
    def events(self) -> Any:
        """A shared ``events`` client."""
        return self._cached("events")

    @property
    def iam(self) -> Any:
        """A shared ``iam`` client."""
        return self._cached("iam")

    @property
    def unvalidated_sfn(self) -> Any:
        """A shared ``stepfunctions`` client that does not validate parameters itself (so
        the server's own validation answers)."""
        client = self._clients.get("stepfunctions/unvalidated")
        if client is None:
            client = self.client("stepfunctions", parameter_validation=False)
            self._clients["stepfunctions/unvalidated"] = client
        return client


async def _awaited(work: Callable[[ServiceContext], Awaitable[T]], context: ServiceContext) -> T:
    return await work(context)


@contextlib.contextmanager
def serve(
    config: ServiceConfig,
    *,
    data_dir: Path,
    environ: Mapping[str, str] | None = None,
    kind: str = "",
) -> Iterator[ServiceServer]:
    """Serve ``config`` on 127.0.0.1 for the ``with`` block.

    Args:
        config: The configuration (host and port are replaced: 127.0.0.1 and a free port).
        data_dir: ``STEPLINE_DATA_DIR`` while it runs (key file, connection secrets).
        environ: Further environment variables while it runs (``STEPLINE_IAM``…).
        kind: A label for messages.
    """
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("STEPLINE_DATA_DIR", str(data_dir))
        for key, value in (environ or {}).items():
            patch.setenv(key, value)
        server = ServiceServer(config, kind=kind)
        with server:
            yield server


def service_kinds(module: object) -> tuple[StoreKind, ...]:
    """The store kinds the ``service`` fixture runs a module's tests on: PostgreSQL too for a
    module with ``RUN_ON_POSTGRES = True``, when ``STEPLINE_TEST_POSTGRES_URL`` is set."""
    if POSTGRES_URL is not None and getattr(module, "RUN_ON_POSTGRES", False):
        return (*STORE_KINDS, "postgres")
    return STORE_KINDS


@pytest.fixture(scope="module")
def service(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ServiceServer]:
    """One server per test module and store kind (parametrised by this directory's
    ``pytest_generate_tests`` with :func:`service_kinds`)."""
    kind: StoreKind = request.param
    directory = tmp_path_factory.mktemp(f"service-{kind}")
    schema = new_schema() if kind == "postgres" else None
    try:
        config = config_for(kind, directory, schema=schema)
        with serve(config, data_dir=directory, kind=kind) as server:
            yield server
    finally:
        if schema is not None:
            drop_schema(schema)


@pytest.fixture
def serve_service(
    tmp_path: Path,
) -> Iterator[Callable[..., ServiceServer]]:
    """``serve_service(kind="memory", *, directory=None, environ=None, **overrides)``: start a
    server of one's own; all are stopped at teardown (in reverse order)."""
    with contextlib.ExitStack() as stack:

        def start(
            kind: StoreKind = "memory",
            *,
            directory: Path | None = None,
            environ: Mapping[str, str] | None = None,
            **overrides: Any,
        ) -> ServiceServer:
            where = directory or tmp_path
            config = config_for(kind, where, **overrides)
            return stack.enter_context(serve(config, data_dir=where, environ=environ, kind=kind))

        yield start
