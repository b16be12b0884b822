"""Python callables as Task resources: the library user's own code behind a Task state.

A callable receives the task's effective parameters (after InputPath and Parameters) and returns
its result; it may be sync or async, and may take a second argument, a :class:`TaskContext`,
to read the context object or send heartbeats. Raising :class:`~stepline.StatesError` fails the
task with that error name; any other exception fails it with the exception's class name as the
error and its message as the cause (as AWS Lambda reports ``errorType``/``errorMessage``).
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from stepline.asl._errors import RUNTIME, StatesError
from stepline.asl._json import json_problem
from stepline.engine._ports import HeartbeatSink, TaskEffect, TaskInvoker

__all__ = ["TaskContext", "TaskHandler", "TaskRegistry"]

TaskHandler = Callable[..., Any]
"""``fn(parameters)`` or ``fn(parameters, context)``, sync or async, returning a JSON value."""


class TaskContext:
    """What a Python task can see of its execution.

    Attributes:
        resource: The Task state's ``Resource``.
        state_name: The Task state's name.
        context: The context object ``$$`` (Execution, StateMachine, State…).
        timeout_seconds: The task's time limit, if any.
        heartbeat_seconds: The heartbeat limit, if any.
    """

    __slots__ = (
        "_heartbeat",
        "context",
        "heartbeat_seconds",
        "resource",
        "state_name",
        "timeout_seconds",
    )

    def __init__(self, effect: TaskEffect, heartbeat: HeartbeatSink) -> None:
        self.resource = effect.resource
        self.state_name = effect.state_name
        self.context = effect.context
        self.timeout_seconds = effect.timeout_seconds
        self.heartbeat_seconds = effect.heartbeat_seconds
        self._heartbeat = heartbeat

    def heartbeat(self) -> None:
        """Tell the engine the task is alive (resets the ``HeartbeatSeconds`` clock)."""
        self._heartbeat()


class _Registered:
    __slots__ = ("fn", "invoker", "is_async", "wants_context")

    def __init__(self, fn: TaskHandler | TaskInvoker) -> None:
        invoke = getattr(fn, "invoke", None)
        if invoke is not None and inspect.iscoroutinefunction(invoke):
            # A whole resource implementation (the engine's TaskInvoker port), such as the
            # HTTP Task: it gets the effect itself and its result is trusted to be JSON.
            self.invoker: TaskInvoker | None = fn  # type: ignore[assignment]
            self.fn: TaskHandler = invoke
            self.is_async = True
            self.wants_context = True
            return
        self.invoker = None
        if not callable(fn):
            raise TypeError(f"A task handler must be callable, got {type(fn).__name__}.")
        self.fn = fn
        # An object with an async __call__ is async too.
        self.is_async = inspect.iscoroutinefunction(fn) or inspect.iscoroutinefunction(
            type(fn).__call__
        )
        try:
            positional = [
                p
                for p in inspect.signature(fn).parameters.values()
                if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD, p.VAR_POSITIONAL)
            ]
        except (TypeError, ValueError):
            positional = []
        self.wants_context = len(positional) >= 2 or any(
            p.kind == p.VAR_POSITIONAL for p in positional
        )


class TaskRegistry:
    """Task resources by ARN, implementing the engine's :class:`TaskInvoker` port.

    Args:
        handlers: Initial ``{resource ARN: callable}`` entries.
    """

    def __init__(self, handlers: Mapping[str, TaskHandler | TaskInvoker] | None = None) -> None:
        self._handlers: dict[str, _Registered] = {}
        for resource, fn in (handlers or {}).items():
            self.register(resource, fn)

    def register(self, resource: str, fn: TaskHandler | TaskInvoker) -> None:
        """Serve the Task resource ``resource`` with ``fn`` (replacing any earlier handler).

        ``fn`` is a callable (see :data:`TaskHandler`) or an object with an async
        ``invoke(effect, heartbeat)`` method (the engine's ``TaskInvoker`` port), such as
        :class:`~stepline.tasks.HttpTask`.
        """
        if not isinstance(resource, str) or not resource:
            raise ValueError("A task resource must be a non-empty string such as an ARN.")
        self._handlers[resource] = _Registered(fn)

    def handler(self, resource: str) -> TaskHandler | TaskInvoker | None:
        """The callable or invoker registered for ``resource`` (as given), or ``None``."""
        entry = self._handlers.get(resource)
        if entry is None:
            return None
        return entry.invoker if entry.invoker is not None else entry.fn

    def __contains__(self, resource: object) -> bool:
        return resource in self._handlers

    def __iter__(self) -> Iterator[str]:
        return iter(self._handlers)

    async def invoke(self, effect: TaskEffect, heartbeat: HeartbeatSink) -> Any:
        """Run the handler registered for the effect's resource.

        Raises:
            StatesError: The handler failed, or no handler is registered (``States.Runtime``).
        """
        entry = self._handlers.get(effect.resource)
        if entry is None:
            known = ", ".join(sorted(self._handlers)) or "none"
            raise StatesError(
                RUNTIME,
                f"No task handler is registered for the resource '{effect.resource}' of the "
                f"state '{effect.state_name}'. Register a callable for it (library: "
                f"StateMachine(..., tasks={{resource: callable}}); CLI: --task "
                f"RESOURCE=module:function). Registered resources: {known}.",
            )
        invoker = entry.invoker
        if invoker is not None:
            return await invoker.invoke(effect, heartbeat)
        args: tuple[Any, ...] = (effect.parameters,)
        if entry.wants_context:
            args = (effect.parameters, TaskContext(effect, heartbeat))
        try:
            if entry.is_async:
                result = await entry.fn(*args)
            elif effect.timeout_seconds is not None or effect.heartbeat_seconds is not None:
                # In a thread, so that the time limits can be enforced while it runs.
                result = await asyncio.to_thread(entry.fn, *args)
            else:
                result = entry.fn(*args)
        except StatesError:
            raise
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            raise StatesError(type(exc).__name__, str(exc)) from None
        problem = json_problem(result)
        if problem is not None:
            raise StatesError(
                RUNTIME,
                f"The task handler for '{effect.resource}' returned a result that is not JSON: "
                f"{problem}. Return only dicts with string keys, lists, strings, finite numbers, "
                "booleans and None.",
            )
        return result
