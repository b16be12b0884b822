"""What every part of the service shares: configuration, the store, connections, roles, tasks.

A :class:`ServiceContext` is built once per server process (:func:`build_context`) and handed
to each operation module's ``handlers(context)`` and to the worker. Compiled definitions are
cached here by revision id, so a definition is compiled once however many executions run it.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final

from stepline.asl import CompiledDefinition, compile_definition
from stepline.engine import DEFAULT_MAX_PAYLOAD_BYTES
from stepline.store import redacted_url

if TYPE_CHECKING:
    from stepline.connections import Connections
    from stepline.policy import PolicyEnforcer, Roles
    from stepline.service._logs import ExecutionLogs
    from stepline.store import Store
    from stepline.tasks import HttpTask, TaskRegistry

__all__ = ["DEFAULT_PORT", "ServiceConfig", "ServiceContext", "default_database_url"]

DEFAULT_PORT: Final = 8083
_COMPILED_CACHE_SIZE: Final = 512


def default_database_url(environ: Mapping[str, str] | None = None) -> str:
    """The embedded default: ``stepline.db`` in the per-user data directory.

    ``$STEPLINE_DATA_DIR``, else ``$XDG_DATA_HOME/stepline``, else ``~/.local/share/stepline``
    — the directory that also holds the secret key file.
    """
    from stepline.connections import default_data_dir

    return f"sqlite:///{default_data_dir(environ) / 'stepline.db'}"


@dataclass(frozen=True, slots=True)
class ServiceConfig:
    """How the service runs (from ``stepline serve`` options and the environment).

    Attributes:
        database_url: ``sqlite:///path`` (the default: :func:`default_database_url`),
            ``memory://`` or ``postgresql://…`` (docs/service.md).
        host: The address to listen on.
        port: The port to listen on.
        region: The Region in every ARN.
        account: The account id in every ARN.
        max_payload_bytes: Payload quota for inputs, outputs, task parameters and results.
        worker: Whether this process also runs executions (``--no-worker`` for API only).
        worker_concurrency: Executions one worker drives at once.
        lease_seconds: How long a claim lasts without renewal.
        max_history_events: History length quota of a Standard execution (AWS: 25,000); the
            execution fails when it would exceed it.
        express_max_seconds: How long an Express execution may run (AWS: 5 minutes).
        drain_seconds: On SIGTERM, how long the worker lets the steps in flight finish
            before it gives their leases back (``STEPLINE_DRAIN_SECONDS``).
    """

    database_url: str = field(default_factory=default_database_url)
    host: str = "127.0.0.1"
    port: int = DEFAULT_PORT
    region: str = "us-east-1"
    account: str = "123456789012"
    max_payload_bytes: int = DEFAULT_MAX_PAYLOAD_BYTES
    worker: bool = True
    worker_concurrency: int = 256
    lease_seconds: float = 30.0
    max_history_events: int = 25_000
    express_max_seconds: float = 300.0
    drain_seconds: float = 10.0


class ServiceContext:
    """The service's shared parts.

    Args:
        config: The configuration.
        store: Persistence.
        connections: EventBridge connections (the ``events`` API and HTTP Tasks).
        roles: IAM roles and policies (the ``iam`` API and the HTTP Task's checks).
        policy: Enforces execution-role policies.
        http: Serves ``arn:aws:states:::http:invoke``.
        tasks: Every Task resource the service can run (the HTTP Task among them).
        execution_logs: Where executions' log records go (``loggingConfiguration``); by
            default the sink ``STEPLINE_EXECUTION_LOGS`` names.
    """

    def __init__(
        self,
        config: ServiceConfig,
        store: Store,
        *,
        connections: Connections,
        roles: Roles,
        policy: PolicyEnforcer,
        http: HttpTask,
        tasks: TaskRegistry,
        execution_logs: ExecutionLogs | None = None,
    ) -> None:
        self.config = config
        self.store = store
        self.connections = connections
        self.roles = roles
        self.policy = policy
        self.http = http
        self.tasks = tasks
        if execution_logs is None:
            from stepline.service._logs import ExecutionLogs

            execution_logs = ExecutionLogs.from_environment(
                in_memory=config.database_url.startswith("memory:")
            )
        self.execution_logs = execution_logs
        self._compiled: OrderedDict[str, CompiledDefinition] = OrderedDict()

    @property
    def arn_prefix(self) -> str:
        """``arn:aws:states:<region>:<account>:`` — every Step Functions ARN starts so."""
        return f"arn:aws:states:{self.config.region}:{self.config.account}:"

    def compiled(self, revision_id: str, definition: str) -> CompiledDefinition:
        """The compiled definition of a revision (compiled once, then cached).

        Raises:
            InvalidDefinition: The definition is not valid (it was when it was stored, so only
                if stepline's validation became stricter since).
        """
        cached = self._compiled.get(revision_id)
        if cached is not None:
            self._compiled.move_to_end(revision_id)
            return cached
        compiled = compile_definition(definition)
        self._compiled[revision_id] = compiled
        if len(self._compiled) > _COMPILED_CACHE_SIZE:
            self._compiled.popitem(last=False)
        return compiled

    def describe(self) -> dict[str, Any]:
        """A summary for logs (no secrets)."""
        return {
            "database": redacted_url(self.config.database_url),
            "region": self.config.region,
            "account": self.config.account,
            "execution_logs": self.execution_logs.describe(),
        }
