"""Assembling the service: the context, the operations, the worker, the ASGI app, the server.

Each operations module exposes ``handlers(context) -> {"states:Op": handler, ...}``; this module
gathers them into one :func:`~stepline.api.create_app` and ties the worker's life to the
server's (ASGI lifespan), so that SIGTERM/SIGINT stop both cleanly.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Any

from stepline.api import AwsApi, Handler, SigV4Verifier, create_app
from stepline.service._context import ServiceConfig, ServiceContext

__all__ = ["build_app", "open_context"]

_log = logging.getLogger("stepline.service")


async def open_context(config: ServiceConfig) -> ServiceContext:
    """Open the store and build the shared parts for ``config``.

    Connection secrets are kept encrypted in the data directory (key from
    ``STEPLINE_SECRET_KEY`` or the key file); the HTTP Task's egress rules and the IAM mode come
    from the environment (``STEPLINE_HTTP_ALLOW``, ``STEPLINE_IAM``…), and so does the sink of
    execution logs (``STEPLINE_EXECUTION_LOGS``).
    """
    from stepline.connections import (
        Connections,
        FileSecretStore,
        InMemorySecretStore,
        SecretCipher,
        default_data_dir,
        load_or_create_key,
    )
    from stepline.policy import PolicyEnforcer, Roles
    from stepline.service._logs import ExecutionLogs
    from stepline.service._nested import register_nested
    from stepline.store import open_store
    from stepline.tasks import HTTP_INVOKE, HttpTask, TaskRegistry

    # Checked before the store opens, so that a bad STEPLINE_EXECUTION_LOGS leaves nothing open.
    execution_logs = ExecutionLogs.from_environment(
        in_memory=config.database_url.startswith("memory:")
    )
    store = await open_store(config.database_url)
    if config.database_url.startswith("memory:"):
        secrets: Any = InMemorySecretStore(SecretCipher(SecretCipher.generate_key()))
    else:
        cipher = SecretCipher(load_or_create_key())
        secrets = FileSecretStore(default_data_dir() / "secrets", cipher)
    connections = Connections(region=config.region, account=config.account, secret_store=secrets)
    roles = Roles(account=config.account)
    policy = PolicyEnforcer.from_env(roles)
    http = HttpTask(connections, policy=policy)
    tasks = TaskRegistry({HTTP_INVOKE: http})
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
            # After the worker: the runs it let finish have logged their last events.
            await context.execution_logs.aclose()
            await context.http.aclose()
            await context.store.close()
            _log.info("stepline service stopped")

    return create_app(
        _all_handlers(context),
        auth=auth,
        lifespan=lifespan,
    )
