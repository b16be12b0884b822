"""The operation modules whose handlers the service serves (see ``_server._all_handlers``).

Each module exposes ``handlers(context: ServiceContext) -> dict[str, Handler]`` keyed like
``"states:StartExecution"``; a key may be served by one module only.
"""

from __future__ import annotations

from types import ModuleType

__all__ = ["MODULES"]


def _modules() -> tuple[ModuleType, ...]:
    from stepline.service import (
        _ops_activities,
        _ops_events,
        _ops_executions,
        _ops_iam,
        _ops_map_runs,
        _ops_state_machines,
        _ops_test_state,
        _redrive,
    )

    return (
        _ops_state_machines,
        _ops_executions,
        _ops_activities,
        _ops_events,
        _ops_iam,
        _ops_test_state,
        _redrive,
        _ops_map_runs,
    )


MODULES: tuple[ModuleType, ...] = _modules()
