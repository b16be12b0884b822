"""``stepline run DEFINITION``: run an execution in this process and show what it did.

By default the output is the readable trace (:mod:`stepline.cli._trace`, :mod:`._render`)
followed by the status and the output or error. With ``--json`` stdout carries exactly one JSON
object, ``{"status", "output", "error", "cause"}``: anything the user's task functions print is
sent to stderr while the execution runs, so that the object can be piped into ``jq``.

HTTP Tasks (``arn:aws:states:::http:invoke``) are served by the library's
:class:`~stepline.tasks.HttpTask`, with the connections of ``--connections`` files
(:mod:`stepline.cli._connections`) and the egress allow list of ``--http-allow`` or
``STEPLINE_HTTP_ALLOW``.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import sys
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, Final, TextIO

from stepline import ExecutionResult, InvalidExecutionInput, StateMachine, VirtualClock
from stepline.asl import DefinitionError, Diagnostic, InvalidDefinition
from stepline.asl._errors import RUNTIME
from stepline.cli._connections import (
    ConnectionEntry,
    ConnectionScope,
    build_connections,
    read_connection_files,
)
from stepline.cli._errors import EXIT_FAILED, EXIT_OK, CliError
from stepline.cli._load import STDIN, Document, load_definition, load_input
from stepline.cli._machines import parse_machine_specs
from stepline.cli._render import render_outcome, render_trace, style_for
from stepline.cli._tasks import load_tasks, task_resources
from stepline.cli._trace import TASK_FAILURES, build_trace
from stepline.cli._validate_cmd import definition_diagnostics
from stepline.tasks import TaskHandler
from stepline.tasks._resources import HTTP_INVOKE

if TYPE_CHECKING:
    from stepline.egress import AllowRule
    from stepline.tasks import HttpTask

__all__ = ["RunOptions", "run_execution"]

_MACHINE_NAME_CHARS = re.compile(r"[^A-Za-z0-9_-]+")
_DEFAULT_REGION: Final = "us-east-1"
_DEFAULT_ACCOUNT: Final = "123456789012"
_ALLOW_ENV: Final = "STEPLINE_HTTP_ALLOW"
_CONNECTION_NOT_FOUND: Final = "Events.ConnectionResource.ResourceNotFound"


@dataclass(frozen=True, slots=True)
class RunOptions:
    """What ``stepline run`` was asked to do.

    Attributes:
        definition: The definition's path (``-`` for stdin).
        input: The ``--input`` argument (JSON text or ``@FILE``), if given.
        json: Print one JSON object instead of the trace.
        name: The execution's name, if given.
        fast_waits: Use a virtual clock, so waits and back-offs take no real time.
        tasks: ``RESOURCE=module:function`` specs.
        connections: Connections files (``--connections``), in order.
        http_allow: ``--http-allow`` lists; when given they replace ``STEPLINE_HTTP_ALLOW``.
        machines: ``NAME=FILE`` specs of the state machines the run may start
            (``states:startExecution``).
    """

    definition: str
    input: str | None
    json: bool
    name: str | None
    fast_waits: bool
    tasks: Sequence[str]
    connections: Sequence[str] = ()
    http_allow: Sequence[str] = ()
    machines: Sequence[str] = ()


def run_execution(options: RunOptions, out: TextIO, err: TextIO) -> int:
    """Run the execution and print its trace or JSON result; return the exit status.

    Raises:
        CliError: The definition, input, name or a ``--task`` is unusable.
    """
    if options.definition == STDIN and options.input == "@" + STDIN:
        raise CliError(
            "The definition and --input cannot both be read from standard input; put one of "
            "them in a file."
        )
    document = load_definition(options.definition)
    execution_input = load_input(options.input)
    _check_definition(document, err)
    children = []
    for child_name, path in parse_machine_specs(options.machines):
        child_document = load_definition(path)
        _check_definition(child_document, err)
        children.append((child_name, child_document))
    documents = [document, *(child for _, child in children)]
    allow = _allow_rules(options.http_allow)
    entries, scope = read_connection_files(options.connections, os.environ)
    handlers = load_tasks(options.tasks)
    _warn_unused_tasks(documents, handlers, err)
    http = _http_task(documents, handlers, entries, scope, allow)
    clock = VirtualClock() if options.fast_waits else None
    machine = _machine(document, handlers, clock, http=http, scope=scope)
    if children:
        everyone = [machine]
        for child_name, child_document in children:
            child = _machine(
                child_document, handlers, clock, http=http, scope=scope, name=child_name
            )
            child.tokens = machine.tokens  # a child's task may complete its parent's token
            everyone.append(child)
        for each in everyone:
            each.machines.update((other.arn, other) for other in everyone)
    try:
        with _stdout_to_stderr() if options.json else contextlib.nullcontext():
            result = machine.run(execution_input, name=options.name)
    except InvalidExecutionInput as exc:
        what = "--name" if options.name is not None and "name" in str(exc) else "the input"
        raise CliError(f"Cannot start the execution: {exc} Check {what}.") from None

    if options.json:
        _print_json(result, out)
    else:
        _print_trace(result, out)
        _print_children(result, out)
    _hint_missing_handlers(document, result, handlers, err)
    _hint_http(result, err)
    return EXIT_OK if result.succeeded else EXIT_FAILED


# --- before running -------------------------------------------------------------------------


def _check_definition(document: Document, err: TextIO) -> None:
    diagnostics = definition_diagnostics(document, compile=False)
    errors = [d for d in diagnostics if d.severity == "ERROR"]
    if errors:
        raise CliError(_invalid_message(document.source, errors))
    for warning in diagnostics:
        print(f"stepline: warning: {document.source}: {warning}", file=err)


def _invalid_message(source: str, errors: Sequence[Diagnostic]) -> str:
    count = len(errors)
    listed = "\n".join(f"  {diagnostic}" for diagnostic in errors)
    return (
        f"{source}: the state machine definition is invalid ({count} problem"
        f"{'s' if count != 1 else ''}; each names the JSON Pointer of the field at fault):\n"
        f"{listed}\nFix the definition and run again; 'stepline validate {source}' checks it "
        "without running it."
    )


def _allow_rules(lists: Sequence[str]) -> tuple[AllowRule, ...] | None:
    """The ``--http-allow`` rules (``None`` when the option was not given)."""
    if not lists:
        return None
    from stepline.egress._settings import parse_allow

    try:
        return parse_allow(",".join(lists), source="--http-allow")
    except ValueError as exc:
        raise CliError(f"{exc} Correct the --http-allow option.") from None


def _http_task(
    documents: Sequence[Document],
    handlers: Mapping[str, TaskHandler],
    entries: Sequence[ConnectionEntry],
    scope: ConnectionScope,
    allow: tuple[AllowRule, ...] | None,
) -> HttpTask | None:
    """The HTTP Task for this run: the files' connections, the allow list, ``STEPLINE_IAM``.

    The connections are created (and checked) even when nothing uses them, so a mistake in a
    file is reported the same way whatever the definition.
    """
    connections = build_connections(
        entries,
        region=scope.region or _DEFAULT_REGION,
        account=scope.account or _DEFAULT_ACCOUNT,
    )
    if HTTP_INVOKE in handlers or not any(
        HTTP_INVOKE in task_resources(document.value) for document in documents
    ):
        return None
    from stepline.egress import EgressSettings
    from stepline.policy import PolicyEnforcer, Roles
    from stepline.tasks import HttpTask

    environ = dict(os.environ)
    if allow is not None:
        # The option replaces the variable for this run; it was checked on its own above.
        environ.pop(_ALLOW_ENV, None)
    try:
        settings = EgressSettings.from_env(environ)
        # No roles are defined on the command line: STEPLINE_IAM=strict refuses every role.
        policy = PolicyEnforcer.from_env(Roles(account=connections.account), environ)
    except ValueError as exc:
        raise CliError(f"{exc} Correct the environment variable, or unset it.") from None
    if allow is not None:
        settings = replace(settings, allow=allow)
    return HttpTask(connections, settings=settings, policy=policy)


def _machine(
    document: Document,
    handlers: Mapping[str, TaskHandler],
    clock: VirtualClock | None,
    *,
    http: HttpTask | None = None,
    scope: ConnectionScope | None = None,
    name: str | None = None,
) -> StateMachine:
    scope = scope or ConnectionScope()
    try:
        return StateMachine(
            document.value,
            name=name or _machine_name(document.source),
            tasks=handlers,
            clock=clock,
            region=scope.region or _DEFAULT_REGION,
            account=scope.account or _DEFAULT_ACCOUNT,
            http=http,
        )
    except InvalidDefinition as exc:
        raise CliError(_invalid_message(document.source, list(exc.errors()))) from None
    except DefinitionError as exc:
        raise CliError(
            _invalid_message(document.source, [Diagnostic(exc.code, exc.message, "")])
        ) from None


def _machine_name(source: str) -> str:
    """The state machine's name (``$$.StateMachine.Name``): the file's stem, made ARN-safe."""
    stem = os.path.splitext(os.path.basename(source))[0]
    name = _MACHINE_NAME_CHARS.sub("-", stem).strip("-")[:80]
    return name or "StateMachine"


def _warn_unused_tasks(
    documents: Sequence[Document], handlers: Mapping[str, TaskHandler], err: TextIO
) -> None:
    resources: list[str] = []
    for document in documents:
        resources.extend(r for r in task_resources(document.value) if r not in resources)
    sources = ", ".join(document.source for document in documents)
    for resource in handlers:
        if resource not in resources:
            known = ", ".join(repr(r) for r in resources) or "none"
            print(
                f"stepline: warning: --task {resource!r} is not the Resource of any Task state "
                f"in {sources}, so it will not be called; the Task resources there "
                f"are: {known}.",
                file=err,
            )


@contextlib.contextmanager
def _stdout_to_stderr() -> Iterator[None]:
    """Send everything written to stdout, by Python or by child processes, to stderr."""
    sys.stdout.flush()
    try:
        saved = os.dup(1)
    except OSError:
        # No file descriptor 1 (an embedding host): redirecting Python's writes is enough.
        with contextlib.redirect_stdout(sys.stderr):
            yield
        return
    try:
        os.dup2(2, 1)
        with contextlib.redirect_stdout(sys.stderr):
            yield
    finally:
        sys.stderr.flush()
        os.dup2(saved, 1)
        os.close(saved)


# --- after running --------------------------------------------------------------------------


def _print_json(result: ExecutionResult, out: TextIO) -> None:
    payload = {
        "status": result.status,
        "output": result.output,
        "error": result.error,
        "cause": result.cause,
    }
    encoding = (getattr(out, "encoding", None) or "").lower().replace("-", "")
    try:
        text = json.dumps(payload, ensure_ascii=not encoding.startswith("utf"), allow_nan=False)
    except ValueError as exc:
        # The engine lets a task return NaN or Infinity; printing 'NaN' would not be JSON.
        raise CliError(
            f"The execution {result.status.lower()}, but its output cannot be printed as JSON "
            f"({exc}): a task returned NaN or Infinity. Return only JSON values from tasks."
        ) from None
    out.write(text + "\n")
    out.flush()


def _print_trace(result: ExecutionResult, out: TextIO) -> None:
    style = style_for(out)
    trace = build_trace(result.history)
    lines = render_trace(trace, style)
    lines.append("")
    lines.extend(
        render_outcome(
            result.status,
            result.output,
            error=result.error,
            cause=result.cause,
            duration=trace.duration,
            style=style,
        )
    )
    out.write("\n".join(lines) + "\n")
    out.flush()


def _print_children(result: ExecutionResult, out: TextIO) -> None:
    """One line per nested execution the run started (and theirs, indented)."""
    lines: list[str] = []

    def add(parent: ExecutionResult, depth: int) -> None:
        for child in parent.children:
            lines.append(f"{'  ' * depth}child execution {child.execution_arn}: {child.status}")
            add(child, depth + 1)

    add(result, 0)
    if lines:
        out.write("\n".join(lines) + "\n")
        out.flush()


def _hint_missing_handlers(
    document: Document,
    result: ExecutionResult,
    handlers: Mapping[str, TaskHandler],
    err: TextIO,
) -> None:
    """After a failure, say how to serve the Task resources that had no handler."""
    if result.succeeded:
        return
    # HTTP Tasks are served without --task; _hint_http covers their failures.
    unserved = [r for r in task_resources(document.value) if r not in handlers and r != HTTP_INVOKE]
    failures = [
        event.details or {}
        for event in result.history
        if event.type in TASK_FAILURES and (event.details or {}).get("error") == RUNTIME
    ]
    for resource in unserved:
        if any(_names_resource(details, resource) for details in failures):
            print(
                f"stepline: hint: nothing serves the Task resource {resource!r} locally. "
                f"Register a Python function for it with --task '{resource}=module:function' "
                "(the module must be importable from the current directory or PYTHONPATH).",
                file=err,
            )


def _hint_http(result: ExecutionResult, err: TextIO) -> None:
    """After a failure, say which option would let an HTTP Task through."""
    if result.succeeded:
        return
    failures = [
        event.details or {}
        for event in result.history
        if event.type in TASK_FAILURES and (event.details or {}).get("resourceType") == "http"
    ]
    errors = {details.get("error") for details in failures}
    if _CONNECTION_NOT_FOUND in errors:
        print(
            "stepline: hint: an HTTP Task names a connection this run does not have. Describe "
            'it in a connections file ({"Connections": [...]}, each entry the fields of '
            "'aws events create-connection' plus \"ConnectionArn\": the ARN the definition "
            "names) and pass it with --connections FILE.",
            file=err,
        )
    if any(
        details.get("error") == RUNTIME and _ALLOW_ENV in str(details.get("cause", ""))
        for details in failures
    ):
        print(
            "stepline: hint: egress rules refused an HTTP Task's destination. To let this run "
            "reach it, pass --http-allow HOST:PORT (or a network such as 127.0.0.0/8), which "
            f"takes the place of {_ALLOW_ENV} for the run.",
            file=err,
        )


def _names_resource(details: Mapping[str, Any], resource: str) -> bool:
    """Whether a failure event's details are about ``resource``."""
    kind, name = details.get("resourceType"), details.get("resource")
    # History names a service integration by type and action ('stepline', 'task:call' for
    # 'arn:aws:states:::stepline:task:call'), as AWS does; other resources in full. Lambda
    # and activity failure events name no resource, but the cause quotes it.
    if isinstance(name, str) and (resource == name or resource.endswith(f":{kind}:{name}")):
        return True
    return f"'{resource}'" in str(details.get("cause", ""))
