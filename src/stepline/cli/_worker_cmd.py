"""``stepline worker``: the execution side of the service alone, no HTTP API.

A worker claims due executions from the database with leases and drives them — timers,
retries, HTTP Tasks, activity tasks and callbacks, nested executions, execution logs — exactly
as the worker inside ``stepline serve`` does. Any number of workers and ``serve`` processes
(with or without ``--no-worker``) may share one database; each execution is driven by one of
them at a time. It reads the same configuration as ``serve`` (``STEPLINE_DATABASE_URL``, the
secret key, ``STEPLINE_HTTP_ALLOW``, ``STEPLINE_IAM``, the limits, ``STEPLINE_LEASE_SECONDS``).

It prints one line once it runs, and on SIGTERM or SIGINT drains: it stops claiming, lets the
steps in flight finish within ``STEPLINE_DRAIN_SECONDS`` (default 10), gives the leases of the
rest back (runnable at once, so another process takes them over), closes the database and
exits with status 0.
"""

from __future__ import annotations

import asyncio
import os
import signal
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, TextIO

from stepline.cli._errors import EXIT_OK, CliError
from stepline.cli._serve_cmd import (
    DATABASE_ENV,
    configure_logging,
    limits_from_env,
    startup_problem,
)

__all__ = ["WorkerOptions", "add_worker_parser", "run_worker_command", "worker_options"]

_EXIT_STATUS = (
    "exit status: 0 stopped by SIGTERM or SIGINT (Ctrl-C) after draining; 2 the worker could "
    "not start (bad option or environment, unusable database or data directory)."
)


@dataclass(frozen=True, slots=True)
class WorkerOptions:
    """What ``stepline worker`` was asked for."""

    database_url: str | None


def add_worker_parser(commands: Any) -> None:
    """Add the ``worker`` subcommand to the ``stepline`` parser's subcommands."""
    parser = commands.add_parser(
        "worker",
        help="run executions of a shared database without serving the API (scale out)",
        description=(
            "Drive the executions of a stepline database (claims with leases, timers, HTTP "
            "Tasks, activities, callbacks, nested executions, execution logs) without serving "
            "the API. Run any number of workers beside 'stepline serve --no-worker' processes "
            "on one database; every process needs the same STEPLINE_SECRET_KEY (connection "
            "secrets) and database URL. See docs/deploy.md."
        ),
        epilog=_EXIT_STATUS,
        allow_abbrev=False,
    )
    parser.add_argument(
        "--database",
        metavar="URL",
        help=f"the database the API processes use; default ${DATABASE_ENV}, else stepline.db "
        "in the data directory",
    )


def worker_options(args: Any) -> WorkerOptions:
    """The options of a parsed ``worker`` command line."""
    return WorkerOptions(database_url=args.database)


def run_worker_command(
    options: WorkerOptions, out: TextIO, err: TextIO, environ: Mapping[str, str] | None = None
) -> int:
    """Run a worker until SIGTERM or SIGINT; return the exit status.

    Raises:
        CliError: The worker cannot start (the message says why and what to do).
    """
    from stepline.service import ServiceConfig, default_database_url

    env = os.environ if environ is None else environ
    database_url = options.database_url or env.get(DATABASE_ENV) or default_database_url(env)
    if database_url.startswith("memory:"):
        raise CliError(
            "A worker needs a database other processes can reach: memory:// is private to one "
            "process. Pass --database with the URL the API processes use (or run 'stepline "
            "serve', whose own worker runs its in-memory executions)."
        )
    config = ServiceConfig(database_url=database_url, worker=True, **limits_from_env(env))
    return asyncio.run(_work(config, out))


async def _work(config: Any, out: TextIO) -> int:
    from stepline.service import open_context, run_worker

    try:
        context = await open_context(config)
    except Exception as exc:
        raise CliError(startup_problem(config.database_url, exc)) from None
    configure_logging()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for number in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(number, stop.set)
    print(
        f"stepline: worker running executions of {context.describe()['database']} "
        f"(leases of {config.lease_seconds:g} s, drain {config.drain_seconds:g} s); stop with "
        "Ctrl-C or SIGTERM",
        file=out,
        flush=True,
    )
    try:
        await run_worker(context, stop)
    finally:
        for number in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(number)
    return EXIT_OK
