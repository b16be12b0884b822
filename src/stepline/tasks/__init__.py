"""Task resources: what a Task state's ``Resource`` runs.

Today: Python callables registered by the library user. The HTTP Task, activities, callbacks and
nested executions join this registry as one module each.
"""

from __future__ import annotations

from stepline.tasks._python import TaskContext, TaskHandler, TaskRegistry

__all__ = ["TaskContext", "TaskHandler", "TaskRegistry"]
