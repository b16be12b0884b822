"""``--task RESOURCE=module:function``: serve a Task resource with the user's Python callable.

The module is imported the way ``python -m`` would find it: from ``PYTHONPATH`` and from the
current directory, which is put on ``sys.path`` because the ``stepline`` console script would
not otherwise see a ``tasks.py`` next to the workflow. Any failure to import or find the
callable is the user's to fix, so it is reported as a :class:`CliError`, with the file and line
where their module raised, but without a traceback.
"""

from __future__ import annotations

import importlib
import os
import sys
import traceback
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from stepline.cli._errors import CliError
from stepline.tasks import TaskHandler

__all__ = ["load_tasks", "task_resources"]

_EXAMPLE = "--task 'arn:aws:states:::stepline:charge=my_tasks:charge'"


def load_tasks(specs: Sequence[str]) -> dict[str, TaskHandler]:
    """Import the callables named by ``--task`` options, keyed by resource.

    Raises:
        CliError: A spec is malformed, its module does not import, or it names no callable.
    """
    handlers: dict[str, TaskHandler] = {}
    for spec in specs:
        resource, target = _split(spec)
        handlers[resource] = _import(spec, target)
    return handlers


def task_resources(definition: Mapping[str, Any]) -> list[str]:
    """Every ``Resource`` of a Task state in a (valid) definition, nested ones included."""
    found: list[str] = []
    for state in _states(definition):
        resource = state.get("Resource")
        if state.get("Type") == "Task" and isinstance(resource, str) and resource not in found:
            found.append(resource)
    return found


def _states(scope: Mapping[str, Any]) -> Iterator[Mapping[str, Any]]:
    states = scope.get("States")
    if not isinstance(states, Mapping):
        return
    for state in states.values():
        if not isinstance(state, Mapping):
            continue
        yield state
        for branch in state.get("Branches") or ():
            if isinstance(branch, Mapping):
                yield from _states(branch)
        for key in ("ItemProcessor", "Iterator"):
            processor = state.get(key)
            if isinstance(processor, Mapping):
                yield from _states(processor)


def _split(spec: str) -> tuple[str, str]:
    # Resources are ARNs full of ':' but never '='; the target never holds '='.
    resource, sep, target = spec.rpartition("=")
    if not sep or not resource or not target:
        raise CliError(
            f"--task {spec!r} must be RESOURCE=module:function, e.g. {_EXAMPLE}, where "
            "my_tasks.py is importable (in the current directory or on PYTHONPATH)."
        )
    module, sep, attribute = target.partition(":")
    if not sep or not module or not attribute:
        raise CliError(
            f"--task {spec!r}: {target!r} must name a module and a function as "
            f"module:function, e.g. {_EXAMPLE}."
        )
    return resource, target


def _import(spec: str, target: str) -> TaskHandler:
    module_name, _, attribute = target.partition(":")
    cwd = os.getcwd()
    if cwd not in sys.path and "" not in sys.path:
        sys.path.insert(0, cwd)
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name is not None and (module_name + ".").startswith(exc.name + "."):
            raise CliError(
                f"--task {spec!r}: there is no module named {module_name!r}. Put "
                f"{module_name.replace('.', '/')}.py in the current directory ({cwd}) or add "
                "its directory to PYTHONPATH."
            ) from None
        raise CliError(_import_failure(spec, module_name, exc)) from None
    except SyntaxError as exc:
        where = f"{exc.filename}, line {exc.lineno}" if exc.filename else module_name
        raise CliError(
            f"--task {spec!r}: the module {module_name!r} has a syntax error at {where}: "
            f"{exc.msg}. Fix it and run again."
        ) from None
    except Exception as exc:
        # The user's module ran and raised: report where, as a one-paragraph message.
        raise CliError(_import_failure(spec, module_name, exc)) from None
    handler: Any = module
    for part in attribute.split("."):
        try:
            handler = getattr(handler, part)
        except AttributeError:
            raise CliError(
                f"--task {spec!r}: the module {module_name!r} ({_file_of(module)}) has no "
                f"attribute {attribute!r}. Check the function's name."
            ) from None
    if not callable(handler):
        raise CliError(
            f"--task {spec!r}: {target} is a {type(handler).__name__}, not a function. Name a "
            "function (or other callable) that takes the task's input."
        )
    return handler  # type: ignore[no-any-return]


def _import_failure(spec: str, module_name: str, exc: BaseException) -> str:
    frames = traceback.extract_tb(exc.__traceback__)
    # The innermost frame outside importlib is the user's line that raised.
    user = [frame for frame in frames if "importlib" not in frame.filename]
    where = f" at {user[-1].filename}, line {user[-1].lineno}" if user else ""
    return (
        f"--task {spec!r}: importing the module {module_name!r} failed{where}: "
        f"{type(exc).__name__}: {exc}. Fix the module and run again."
    )


def _file_of(module: object) -> str:
    return str(getattr(module, "__file__", None) or "built-in")
