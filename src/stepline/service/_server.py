"""Assembling the service: the context, the operations, the worker, the ASGI app, the server.

Each operations module exposes ``handlers(context) -> {"states:Op": handler, ...}``; this module
gathers them into one :func:`~stepline.api.create_app` and ties the worker's life to the
server's (ASGI lifespan), so that SIGTERM/SIGINT stop both cleanly.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

from stepline.api import AwsApi, Handler, SigV4Verifier, create_app
from stepline.service._context import ServiceConfig, ServiceContext

__all__ = ["build_app", "close_context", "open_context", "run_worker"]

_log = logging.getLogger("stepline.service")


async def open_context(config: ServiceConfig) -> ServiceContext:
    """Open the store and build the shared parts for ``config``.

    Connections (their secrets encrypted with the key from ``STEPLINE_SECRET_KEY`` or the key
    file) and IAM roles are kept in the store, shared by every process that opens it (records
    files of earlier versions in the data directory are imported once, see
    :mod:`stepline.service._shared_records`); the HTTP Task's egress rules and the IAM mode come
    from the environment (``STEPLINE_HTTP_ALLOW``, ``STEPLINE_IAM``…), and so does the sink of
    execution logs (``STEPLINE_EXECUTION_LOGS``).
    """
    from stepline.connections import (
        Connections,
        InMemorySecretStore,
        SecretCipher,
        load_or_create_key,
    )
    from stepline.policy import PolicyEnforcer, Roles
    from stepline.service._events_files import records_directory
    from stepline.service._logs import ExecutionLogs
    from stepline.service._nested import register_nested
    from stepline.service._pacing import StorePacer
    from stepline.service._shared_records import SharedRecords, register_records
    from stepline.service._shared_tasks import SharedHttpInvoker
    from stepline.store import open_store
    from stepline.tasks import HTTP_INVOKE, HttpTask, TaskRegistry

    in_memory = config.database_url.startswith("memory:")
    # Checked before the store opens, so that a bad STEPLINE_EXECUTION_LOGS leaves nothing open.
    execution_logs = ExecutionLogs.from_environment(in_memory=in_memory)
    # The key before the store too: a bad STEPLINE_SECRET_KEY leaves nothing open either.
    cipher = SecretCipher(SecretCipher.generate_key() if in_memory else load_or_create_key())
    store = await open_store(config.database_url)
    secrets = InMemorySecretStore(cipher)
    connections = Connections(region=config.region, account=config.account, secret_store=secrets)
    roles = Roles(account=config.account)
    records = SharedRecords(store, connections, secrets, roles)
    try:
        directory = records_directory(config.database_url)
        if directory is not None:
            await records.import_files(directory, cipher)
        await records.refresh(force=True)
    except BaseException:
        await store.close()
        raise
    policy = PolicyEnforcer.from_env(roles)
    # Several processes may share a durable store: their connection limits are kept there.
    pacer = None if in_memory else StorePacer(store, lease_seconds=config.lease_seconds)
    http = HttpTask(connections, policy=policy, pacer=pacer)
    tasks = TaskRegistry({HTTP_INVOKE: SharedHttpInvoker(http, records)})
    context = ServiceContext(
        config,
        store,
        connections=connections,
        roles=roles,
        policy=policy,
        http=http,
        tasks=tasks,
        execution_logs=execution_logs,
    )
    register_records(context, records)
    register_nested(context)
    # Distributed Map: map runs (begin)
    from stepline.service._map_run_start import register_map_runs

    register_map_runs(context)
    # Distributed Map: map runs (end)
    return context


def _all_handlers(context: ServiceContext) -> dict[str, Handler]:
    from stepline.service import _operations

    handlers: dict[str, Handler] = {}
    for module in _operations.MODULES:
        for key, handler in module.handlers(context).items():
            if key in handlers:
                raise RuntimeError(f"two operation modules handle {key}")  # a wiring bug
            handlers[key] = handler
    return handlers


def build_app(context: ServiceContext, *, auth: SigV4Verifier | None = None) -> AwsApi:
    """The ASGI application serving every operation, with the worker tied to its lifespan."""

    @contextlib.asynccontextmanager
    async def lifespan() -> AsyncIterator[object]:
        from stepline.service._map_run_driver import resume_map_runs, stop_map_runs
        from stepline.service._worker import Worker

        worker = Worker(context) if context.config.worker else None
        if worker is not None:
            await worker.start()
            # Distributed Map: the map runs a previous process left running go on here.
            await resume_map_runs(context)
        _log.info("stepline service started: %s", context.describe())
        try:
            yield context
        finally:
            # Map runs first: their drivers start children that the worker would run.
            await stop_map_runs(context)
            if worker is not None:
                await worker.stop()
            await close_context(context)
            _log.info("stepline service stopped")

    return create_app(
        _all_handlers(context),
        auth=auth,
        lifespan=lifespan,
    )


async def close_context(context: ServiceContext) -> None:
    """Close what :func:`open_context` opened (after the worker stopped: the runs it let finish
    have logged their last events)."""
    from stepline.service._exec_hub import hub_of
    from stepline.service._pacing import StorePacer

    hub_of(context).stop_listening()
    await context.execution_logs.aclose()
    await context.http.aclose()
    pacer = context.http.pacer
    if isinstance(pacer, StorePacer):
        await pacer.aclose()
    await context.store.close()


async def run_worker(context: ServiceContext, stop: asyncio.Event) -> None:
    """Drive executions of ``context``'s store until ``stop`` is set, then drain and close.

    Draining (SIGTERM): the worker stops claiming, lets the steps in flight finish within
    ``drain_seconds``, gives the leases of the rest back runnable at once (another process
    takes them over without waiting for their expiry), and the context is closed.
    """
    from stepline.service._map_run_driver import resume_map_runs, stop_map_runs
    from stepline.service._worker import Worker

    worker = Worker(context)
    await worker.start()
    # Distributed Map: map runs left running by a process that is gone go on here (and the
    # watch that looks for them again every lease period runs here too).
    await resume_map_runs(context)
    _log.info("stepline worker started: %s (owner %s)", context.describe(), worker.owner)
    try:
        await stop.wait()
    finally:
        # Map runs first: their drivers start children that the worker would run.
        await stop_map_runs(context)
        await worker.stop()
        await close_context(context)
        _log.info("stepline worker stopped")
