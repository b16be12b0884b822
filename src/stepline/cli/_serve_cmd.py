"""``stepline serve``: the AWS-compatible service in one process (uvicorn, one worker).

The command checks everything it can before it listens — authentication settings, the address
(a non-loopback one needs SigV4 or an explicit flag), the port (bound here, so a port in use is
a one-line error), the database and the data directory — and reports any problem as one line
with exit status 2. Once serving it prints one line saying where it listens and where its data
is, and stops cleanly on SIGTERM or SIGINT (Ctrl-C): requests in flight finish, the worker
stops, the database is closed, and the exit status is 0.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import errno
import ipaddress
import logging
import math
import os
import signal
import socket
import sqlite3
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from types import FrameType
from typing import TYPE_CHECKING, Any, Final, TextIO

from stepline.cli._errors import EXIT_OK, CliError

if TYPE_CHECKING:
    from stepline.api import SigV4Verifier
    from stepline.service import ServiceConfig, ServiceContext

__all__ = [
    "DATABASE_ENV",
    "ServeOptions",
    "add_serve_parser",
    "configure_logging",
    "limits_from_env",
    "run_serve",
    "serve_options",
    "startup_problem",
]

DATABASE_ENV: Final = "STEPLINE_DATABASE_URL"
_GRACEFUL_SHUTDOWN_SECONDS: Final = 30
_BACKLOG: Final = 2048

_EXIT_STATUS = (
    "exit status: 0 stopped by SIGTERM or SIGINT (Ctrl-C) after a clean shutdown; 2 the "
    "service could not start (bad option or environment, address in use, unusable database "
    "or data directory)."
)


@dataclass(frozen=True, slots=True)
class ServeOptions:
    """What ``stepline serve`` was asked for (options and environment, not yet checked)."""

    host: str
    port: int
    database_url: str | None
    worker: bool
    allow_unauthenticated_public: bool


def add_serve_parser(commands: Any) -> None:
    """Add the ``serve`` subcommand to the ``stepline`` parser's subcommands."""
    from stepline.service import DEFAULT_PORT

    parser = commands.add_parser(
        "serve",
        help="run the AWS-compatible Step Functions service (boto3, the AWS CLI, SDKs)",
        description=(
            "Serve AWS Step Functions' API (and EventBridge connections and IAM roles) on "
            "HTTP, with durable executions in a database: by default a SQLite file in the data "
            "directory ($STEPLINE_DATA_DIR, else $XDG_DATA_HOME/stepline, else "
            "~/.local/share/stepline), created on first start. Point clients at it with an "
            "endpoint URL, e.g. 'aws stepfunctions --endpoint-url http://127.0.0.1:8083 "
            "list-state-machines'. Authentication: none by default; STEPLINE_AUTH=sigv4 with "
            "STEPLINE_ACCESS_KEYS='ID:SECRET[,...]' or STEPLINE_ACCESS_KEYS_FILE verifies AWS "
            "Signature V4 on every request."
        ),
        epilog=_EXIT_STATUS,
        allow_abbrev=False,
    )
    parser.add_argument(
        "--host",
        default="127.0.0.1",
        help="the address to listen on (default 127.0.0.1); an address other than loopback "
        "needs STEPLINE_AUTH=sigv4 or --allow-unauthenticated-public",
    )
    parser.add_argument(
        "--port",
        type=_port,
        default=DEFAULT_PORT,
        help=f"the TCP port (default {DEFAULT_PORT}; 0 picks a free one and prints it)",
    )
    parser.add_argument(
        "--database",
        metavar="URL",
        help=f"sqlite:///relative.db, sqlite:////absolute/path.db or memory:// (nothing kept); "
        f"default ${DATABASE_ENV}, else stepline.db in the data directory",
    )
    parser.add_argument(
        "--no-worker",
        action="store_true",
        help="serve the API only; executions are run by other processes",
    )
    parser.add_argument(
        "--allow-unauthenticated-public",
        action="store_true",
        help="listen on a non-loopback address without authentication (anyone who can reach "
        "the port can run workflows and use your connections)",
    )


def _port(text: str) -> int:
    try:
        port = int(text)
    except ValueError:
        port = -1
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port number (0 to 65535)")
    return port


def serve_options(args: argparse.Namespace) -> ServeOptions:
    """The options of a parsed ``serve`` command line."""
    return ServeOptions(
        host=args.host,
        port=args.port,
        database_url=args.database,
        worker=not args.no_worker,
        allow_unauthenticated_public=args.allow_unauthenticated_public,
    )


def run_serve(
    options: ServeOptions, out: TextIO, err: TextIO, environ: Mapping[str, str] | None = None
) -> int:
    """Run the service until SIGTERM or SIGINT; return the exit status.

    Raises:
        CliError: The service cannot start (the message says why and what to do).
    """
    from stepline.api import auth_from_env
    from stepline.service import ServiceConfig, default_database_url

    env = os.environ if environ is None else environ
    try:
        auth = auth_from_env(env)
    except ValueError as exc:
        raise CliError(str(exc)) from None
    if auth is None and not options.allow_unauthenticated_public:
        _require_loopback(options.host)
    database_url = options.database_url or env.get(DATABASE_ENV) or default_database_url(env)
    config = ServiceConfig(
        database_url=database_url,
        host=options.host,
        port=options.port,
        worker=options.worker,
        **limits_from_env(env),
    )
    listener = _listen(options.host, options.port)
    try:
        return asyncio.run(_serve(config, auth, listener, out, env))
    finally:
        listener.close()


# Operator-set limits: (variable, ServiceConfig field, type, smallest accepted value). The
# defaults are AWS's quotas (ServiceConfig's own defaults).
_LIMIT_VARIABLES: Final = (
    ("STEPLINE_MAX_PAYLOAD_BYTES", "max_payload_bytes", int, 1),
    ("STEPLINE_MAX_HISTORY_EVENTS", "max_history_events", int, 10),
    ("STEPLINE_EXPRESS_MAX_SECONDS", "express_max_seconds", float, 1.0),
    ("STEPLINE_LEASE_SECONDS", "lease_seconds", float, 1.0),
    ("STEPLINE_DRAIN_SECONDS", "drain_seconds", float, 0.0),
    ("STEPLINE_WORKER_CONCURRENCY", "worker_concurrency", int, 1),
)


def limits_from_env(env: Mapping[str, str]) -> dict[str, Any]:
    """The limits the environment overrides, checked (a bad value is a CliError)."""
    limits: dict[str, Any] = {}
    for variable, field, kind, minimum in _LIMIT_VARIABLES:
        text = env.get(variable, "").strip()
        if not text:
            continue
        try:
            value = kind(text)
        except ValueError:
            value = None
        if value is None or not math.isfinite(value) or value < minimum:
            raise CliError(
                f"{variable} must be a {'whole ' if kind is int else ''}number of at least "
                f"{minimum}, got {text!r}; unset it to use the default."
            )
        limits[field] = value
    return limits


def _require_loopback(host: str) -> None:
    try:
        addresses = {
            str(info[4][0]) for info in socket.getaddrinfo(host, None, type=socket.SOCK_STREAM)
        }
    except OSError:
        addresses = set()
    loopback = bool(addresses) and all(
        ipaddress.ip_address(address.split("%", 1)[0]).is_loopback for address in addresses
    )
    if not loopback:
        raise CliError(
            f"Refusing to listen on {host} without authentication: anyone who can reach it "
            "could run workflows and use your connections. Set STEPLINE_AUTH=sigv4 with "
            "STEPLINE_ACCESS_KEYS='ID:SECRET' (clients then sign with those keys), listen on "
            "127.0.0.1, or pass --allow-unauthenticated-public if the network is trusted."
        )


def _listen(host: str, port: int) -> socket.socket:
    """A bound socket (uvicorn listens on it), so that binding problems are reported here."""
    try:
        family, kind, protocol, _, address = socket.getaddrinfo(
            host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )[0]
    except (OSError, IndexError):
        raise CliError(
            f"Cannot listen on {host}: it is not an address or a host name this machine can "
            "resolve; pass --host with an IP address such as 127.0.0.1."
        ) from None
    # IPPROTO_TCP: asyncio sets TCP_NODELAY only on sockets that say they are TCP.
    listener = socket.socket(family, kind, protocol or socket.IPPROTO_TCP)
    try:
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(address)
    except OSError as exc:
        listener.close()
        reason = exc.strerror or str(exc)
        hint = (
            "stop the other server or pick another --port"
            if exc.errno == errno.EADDRINUSE
            else "pick another --host or --port"
        )
        raise CliError(f"Cannot listen on {host}:{port}: {reason}; {hint}.") from None
    listener.set_inheritable(True)
    return listener


async def _serve(
    config: ServiceConfig,
    auth: SigV4Verifier | None,
    listener: socket.socket,
    out: TextIO,
    env: Mapping[str, str],
) -> int:
    import uvicorn

    from stepline.service import build_app, open_context

    try:
        context = await open_context(config)
    except Exception as exc:
        raise CliError(startup_problem(config.database_url, exc)) from None
    try:
        app = build_app(context, auth=auth)
    except Exception as exc:
        await _close(context)
        raise CliError(startup_problem(config.database_url, exc)) from None
    host, port = listener.getsockname()[:2]
    shown_host = f"[{host}]" if ":" in host else host
    announcement = (
        f"stepline: serving AWS Step Functions on http://{shown_host}:{port} "
        f"(database {context.describe()['database']}; {_data_note(config.database_url, env)}; "
        f"authentication {'SigV4' if auth is not None else 'none'}); stop with Ctrl-C or SIGTERM"
    )
    configure_logging()
    server = _make_server(
        uvicorn.Config(
            app,
            lifespan="on",
            log_level="warning",
            access_log=False,
            http="httptools",
            backlog=_BACKLOG,
            timeout_graceful_shutdown=_GRACEFUL_SHUTDOWN_SECONDS,
        ),
        announcement,
        out,
        context,
    )
    # uvicorn re-raises the signal that stopped it once it has shut down; a handler that does
    # nothing turns that into a normal return, so the exit status is 0.
    for number in (signal.SIGINT, signal.SIGTERM):
        signal.signal(number, _ignore_signal)
    await server.serve(sockets=[listener])
    if not server.started:
        await _close(context)  # the lifespan that would have closed it did not start
        raise CliError(
            "The service failed to start (the log above says why); fix that and start it again."
        )
    return EXIT_OK


def _make_server(
    config: Any, announcement: str, out: TextIO, context: ServiceContext | None = None
) -> Any:
    """uvicorn's server, printing the announcement once it accepts requests, and ending the
    context's long polls when a signal stops it (so that they do not hold the shutdown)."""
    import uvicorn

    class Server(uvicorn.Server):
        async def startup(self, sockets: list[socket.socket] | None = None) -> None:
            await super().startup(sockets=sockets)
            if self.started:
                print(announcement, file=out, flush=True)

        def handle_exit(self, sig: int, frame: FrameType | None) -> None:
            super().handle_exit(sig, frame)
            if context is not None:
                from stepline.service._exec_hub import hub_of

                # A signal handler may interrupt the loop anywhere: hand over through it.
                with contextlib.suppress(RuntimeError):
                    asyncio.get_running_loop().call_soon_threadsafe(hub_of(context).shut_down)

    return Server(config)


def _ignore_signal(_number: int, _frame: FrameType | None) -> None:
    return None


def configure_logging() -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("stepline: %(levelname)s %(name)s: %(message)s"))
    logger = logging.getLogger("stepline")
    logger.addHandler(handler)
    logger.setLevel(logging.WARNING)


def _data_note(database_url: str, env: Mapping[str, str]) -> str:
    if database_url.startswith("memory:"):
        return "in memory: nothing is kept after it stops"
    from stepline.connections import default_data_dir

    return f"the secret key in {default_data_dir(env)}"


def startup_problem(database_url: str, exc: BaseException) -> str:
    from stepline.connections import SecretKeyError
    from stepline.store import StoreError

    if isinstance(exc, StoreError | SecretKeyError | ValueError):
        return f"Cannot start the service: {exc}"
    if isinstance(exc, sqlite3.Error | OSError):
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        where = f" ({exc.filename})" if isinstance(exc, OSError) and exc.filename else ""
        if isinstance(exc, FileExistsError | NotADirectoryError):
            # mkdir's "File exists" hides the point: a file stands where a directory must be.
            reason, where = f"{exc.filename or 'a path'} exists but is not a directory", ""
        return (
            f"Cannot start the service with the database {_shown(database_url)}: "
            f"{reason}{where}. Check that the database file and the data directory exist or "
            "can be created, and are writable by this user (or pass another --database / "
            "STEPLINE_DATA_DIR)."
        )
    return f"Cannot start the service: {type(exc).__name__}: {exc}"


def _shown(database_url: str) -> str:
    """A database URL without its password."""
    scheme, separator, rest = database_url.partition("://")
    if not separator or "@" not in rest:
        return database_url
    credentials, _, location = rest.rpartition("@")
    return f"{scheme}://{credentials.split(':', 1)[0]}:***@{location}"


async def _close(context: ServiceContext) -> None:
    from stepline.service import close_context

    with contextlib.suppress(Exception):
        await close_context(context)
