"""Execution snapshots: everything needed to continue an execution elsewhere, as JSON.

:meth:`Execution.snapshot` describes a running (or ended) execution as plain JSON values, and
:meth:`Execution.restore` rebuilds it — in another process, after a crash — so that it goes on
exactly as if it had never stopped: the same history (ids, ``previousEventId`` links, details),
the same effect ids, the same result. The history itself is not in the snapshot: a durable
driver stores events as they come (:meth:`Execution.take_new_events`) and commits them with the
snapshot taken at the same moment.

Format, version 1 (a JSON object)::

    {
      "v": 1,                      # the format version; restore refuses any other
      "definition": "<sha256>",    # digest of the definition the execution runs
      "execution": "<ARN>",        # the execution it belongs to
      "status": "RUNNING", "output": ..., "error": ..., "cause": ...,
      "input": ...,                # the execution input ($$.Execution.Input)
      "start": 1.7e9, "stop": null, "deadline": null,   # epoch seconds
      "transitions": 12, "events": 40,                    # counts so far
      "next_effect": 7, "region": "us-east-1",
      "frames": [ {frame}, ... ],  # parents before children; referred to by position
      "ready": [0, 3],             # frames ready to run, in queue order
      "tasks": [ {"id", "frame", "resource_type", "resource", "parameters",
                  "timeout", "heartbeat", "token"?, "progress"?}, ... ],  # no outcome yet
      "timers": [ [effect id, frame, "wait" | "retry", due], ... ],
      "cancelled": [ids],          # cancellations the driver has not taken yet
      "redrives": 0,               # times redriven ($$.Execution.RedriveCount); may be absent
      "redrive": [ {frame}, ... ]  # a closed, unsuccessful execution only: where a redrive
    }                              # continues (frames numbered apart from "frames")

A closed execution's snapshot has no ``frames``, ``ready``, ``tasks`` or ``timers``; when it
ended unsuccessfully, ``redrive`` holds its redrive point (see :mod:`stepline.engine._redrive`):
the top-level frame first, each Parallel/Map frame's fan-out listing the children to resume.
``"redrives"`` and ``"redrive"`` were added to version 1 without a version change: a release
that does not know them ignores them (and cannot redrive).

A frame is ``{"graph": [...], "state", "input", "parent", "index", "fresh", "last_event",
"entered_event", "entered_at", "retry_counts", "resume", "pending_effect", "aborted",
"variables"?, "fanout"?}``. ``graph`` names the scope the frame walks by its path from the top
level: ``[]`` is the top level, ``["Fan", "Branches", 1]`` the second branch of the Parallel
state ``Fan``, ``["Each", "ItemProcessor"]`` the processor of the Map state ``Each`` (paths
nest). ``variables`` is left out when the frame shares its parent's (or has none, at the top).
``resume`` is ``null``, ``["result", value]``, ``["error", name, cause, retry_after]`` or
``["timer"]``. A fan-out (the frame's Parallel or Map state in progress) is
``{"total", "results", "waiting": [[index, item]], "running", "remaining", "failures",
"concurrency", "tolerated_count", "tolerated_percentage", "children": [[index, frame]],
"failed"?: [[index, frame]], "error", "raw_input"?, "effective_input"?}`` (the two inputs
left out when they are the frame's input; ``failed``: children that failed or were aborted,
which a redrive runs again); its evaluation context is rebuilt from the frame on restore.

Versioning: ``"v"`` changes whenever a snapshot written by one release could be misread by
another. Restore refuses a version it does not know with :class:`SnapshotError` rather than
guessing; a release that changes the format keeps reading the versions before it (or says
in its notes that running executions must finish first).

Decisions: the definition must be the very one the execution started with (AWS runs an
execution on the definition it started with; a changed ``Retry`` list or state could not be
resumed soundly), checked by a digest of its JSON. The random-number generator for retry
jitter is not in the snapshot: a restored execution draws from the one it is given.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Final

import orjson

from stepline.asl._json import dumps_bytes, dumps_text
from stepline.asl._model import (
    CompiledDefinition,
    MapState,
    ParallelState,
    StateGraph,
    TaskState,
)
from stepline.engine._event_log import EventLog
from stepline.engine._frames import Fanout, Frame
from stepline.engine._map_runs import MAP_RUN_FAMILY, MAP_RUN_RESOURCE
from stepline.engine._ports import TaskEffect
from stepline.engine._tasks import waits_for_token

if TYPE_CHECKING:
    from stepline.engine._execution import Execution

__all__ = [
    "SNAPSHOT_VERSION",
    "SnapshotError",
    "decode_snapshot",
    "definition_digest",
    "encode_snapshot",
    "live_frames",
    "restore_into",
    "take_snapshot",
]

SNAPSHOT_VERSION: Final = 1
"""The snapshot format written by this release (the ``"v"`` member)."""

_RESTORE_ADVICE: Final = (
    "Restore a snapshot with the definition and execution it was taken from, by the "
    "stepline release that wrote it (or a later one)."
)
# 19+ digits may be an integer orjson would turn into a float; such text is decoded exactly.
_LONG_NUMBER: Final = re.compile(rb"\d{19}")


class SnapshotError(ValueError):
    """A snapshot cannot be restored: unknown version, another definition or execution, or
    damaged content."""


# --------------------------------------------------------------------------- graph paths


def _graph_paths(definition: CompiledDefinition) -> dict[int, list[Any]]:
    """``id(graph)`` → its path from the top level, for every scope of the definition."""
    paths: dict[int, list[Any]] = {}
    pending: list[tuple[StateGraph, list[Any]]] = [(definition.graph, [])]
    while pending:
        graph, path = pending.pop()
        paths[id(graph)] = path
        for name, state in graph.states.items():
            if isinstance(state, ParallelState):
                for index, branch in enumerate(state.branches):
                    pending.append((branch, [*path, name, "Branches", index]))
            elif isinstance(state, MapState):
                pending.append((state.processor, [*path, name, "ItemProcessor"]))
    return paths


def _resolve_graph(definition: CompiledDefinition, path: list[Any]) -> StateGraph:
    graph = definition.graph
    position = 0
    while position < len(path):
        state = graph.states[path[position]]
        if path[position + 1] == "Branches" and isinstance(state, ParallelState):
            graph = state.branches[path[position + 2]]
            position += 3
        elif path[position + 1] == "ItemProcessor" and isinstance(state, MapState):
            graph = state.processor
            position += 2
        else:
            raise KeyError(path)
    return graph


def definition_digest(definition: CompiledDefinition) -> str:
    """SHA-256 of the definition's JSON with sorted keys: which definition a snapshot needs."""
    try:
        text = orjson.dumps(definition.definition, option=orjson.OPT_SORT_KEYS)
    except TypeError:  # integers wider than 64 bits
        text = json.dumps(
            definition.definition, sort_keys=True, separators=(",", ":"), ensure_ascii=False
        ).encode()
    return hashlib.sha256(text).hexdigest()


def _definition_facts(execution: Execution) -> tuple[str, dict[int, list[Any]]]:
    facts = execution._snapshot_facts
    if facts is None or facts[2] is not execution.definition:
        definition = execution.definition
        facts = execution._snapshot_facts = (
            definition_digest(definition),
            _graph_paths(definition),
            definition,
        )
    return facts[0], facts[1]


# ------------------------------------------------------------------------------ snapshot


def live_frames(execution: Execution) -> list[Frame]:
    """Every frame that can still matter, each parent before its children.

    A frame matters when it is ready to run, waits on a task or a timer, or is an ancestor of
    one (a Parallel/Map state waiting for its children). Aborted frames never run again.
    """
    ordered: list[Frame] = []
    seen: set[int] = set()

    def visit(frame: Frame) -> None:
        if id(frame) in seen:
            return
        if frame.parent is not None:
            visit(frame.parent)
            if id(frame) in seen:  # listed among the parent's children
                return
        seen.add(id(frame))
        ordered.append(frame)
        fanout = frame.fanout
        if fanout is not None:
            for child in fanout.children.values():
                visit(child)
            for child in fanout.failed.values():
                visit(child)

    for frame in execution._ready:
        if not frame.aborted:
            visit(frame)
    for entry in execution._tasks.values():
        visit(entry[0])
    for timer in execution._timers.values():
        visit(timer[0])
    return ordered


def _frame_record(
    frame: Frame, numbers: dict[int, int], graph_paths: dict[int, list[Any]]
) -> dict[str, Any]:
    resume = frame.resume
    resume_record: list[Any] | None
    if resume is None:
        resume_record = None
    elif resume[0] == "error":
        resume_record = ["error", *resume[1]]
    elif resume[0] == "result":
        resume_record = ["result", resume[1]]
    else:
        resume_record = [resume[0]]
    parent = frame.parent
    record: dict[str, Any] = {
        "graph": graph_paths[id(frame.graph)],
        "state": frame.state_name,
        "input": frame.input,
        "parent": None if parent is None else numbers[id(parent)],
        "index": frame.index,
        "fresh": frame.fresh,
        "last_event": frame.last_event_id,
        "entered_event": frame.entered_event_id,
        "entered_at": frame.entered_at,
        "retry_counts": frame.retry_counts,
        "resume": resume_record,
        "pending_effect": frame.pending_effect,
        "aborted": frame.aborted,
    }
    inherited = parent.variables if parent is not None else None
    if frame.variables is not inherited and (parent is not None or frame.variables):
        record["variables"] = dict(frame.variables)
    fanout = frame.fanout
    if fanout is not None:
        record["fanout"] = _fanout_record(frame, fanout, numbers)
    return record


def _fanout_record(frame: Frame, fanout: Fanout, numbers: dict[int, int]) -> dict[str, Any]:
    record: dict[str, Any] = {
        "total": fanout.total,
        "results": fanout.results,
        "waiting": [[index, item] for index, item in fanout.waiting],
        "running": fanout.running,
        "remaining": fanout.remaining,
        "failures": fanout.failures,
        "concurrency": fanout.concurrency,
        "tolerated_count": fanout.tolerated_count,
        "tolerated_percentage": fanout.tolerated_percentage,
        "children": [[index, numbers[id(child)]] for index, child in fanout.children.items()],
        "error": None if fanout.error is None else list(fanout.error),
    }
    if fanout.failed:
        record["failed"] = [[index, numbers[id(child)]] for index, child in fanout.failed.items()]
    if fanout.raw_input is not frame.input:
        record["raw_input"] = fanout.raw_input
    if fanout.effective_input is not frame.input:
        record["effective_input"] = fanout.effective_input
    return record


def take_snapshot(execution: Execution) -> dict[str, Any]:
    """The snapshot of ``execution`` now (see the module docstring for the format)."""
    digest, graph_paths = _definition_facts(execution)
    frames = live_frames(execution) if execution.status == "RUNNING" else []
    numbers = {id(frame): number for number, frame in enumerate(frames)}
    tasks = []
    live_tasks = execution._tasks if execution.status == "RUNNING" else {}
    for effect_id, (frame, _state, resource_type, resource, effect) in live_tasks.items():
        tasks.append(
            {
                "id": effect_id,
                "frame": numbers[id(frame)],
                "resource_type": resource_type,
                "resource": resource,
                "parameters": effect.parameters,
                "timeout": effect.timeout_seconds,
                "heartbeat": effect.heartbeat_seconds,
            }
        )
        if effect.task_token is not None:
            tasks[-1]["token"] = effect.task_token
        progress = execution._task_progress.get(effect_id)
        if progress is not None:
            tasks[-1]["progress"] = progress
    snapshot: dict[str, Any] = {
        "v": SNAPSHOT_VERSION,
        "definition": digest,
        "execution": execution.identity.execution_arn,
        "status": execution.status,
        "output": execution.output,
        "error": execution.error,
        "cause": execution.cause,
        "input": execution.input,
        "start": execution.start_time,
        "stop": execution.stop_time,
        "deadline": execution.deadline,
        "transitions": execution.transitions,
        "events": len(execution._events),
        "next_effect": execution._next_effect_id,
        "region": execution.region,
        "frames": [_frame_record(frame, numbers, graph_paths) for frame in frames],
        "ready": [numbers[id(frame)] for frame in execution._ready if not frame.aborted],
        "tasks": tasks,
        "timers": [
            [effect_id, numbers[id(frame)], kind, due]
            for effect_id, (frame, kind, due) in execution._timers.items()
        ]
        if frames
        else [],
        "cancelled": list(execution._cancelled),
    }
    if execution.redrive_count:
        snapshot["redrives"] = execution.redrive_count
    root = execution._redrive_root
    if root is not None and execution.status != "RUNNING":
        tree = _tree_frames(root)
        tree_numbers = {id(frame): number for number, frame in enumerate(tree)}
        snapshot["redrive"] = [_frame_record(frame, tree_numbers, graph_paths) for frame in tree]
    return snapshot


def _tree_frames(root: Frame) -> list[Frame]:
    """The redrive point's frames, each parent before its children."""
    ordered = [root]
    position = 0
    while position < len(ordered):
        fanout = ordered[position].fanout
        if fanout is not None:
            ordered.extend(fanout.children.values())
        position += 1
    return ordered


# ------------------------------------------------------------------------------- restore


def restore_into(execution: Execution, snapshot: Mapping[str, Any]) -> None:
    """Fill a blank execution (attributes initialised, no events, no frames) from a snapshot.

    Raises:
        SnapshotError: The snapshot is of an unknown version, of another definition or
            execution, or damaged.
    """
    version = snapshot.get("v") if isinstance(snapshot, Mapping) else None
    if version != SNAPSHOT_VERSION:
        raise SnapshotError(
            f"The execution snapshot has format version {version!r}; this stepline reads "
            f"version {SNAPSHOT_VERSION} only. {_RESTORE_ADVICE}"
        )
    digest, _ = _definition_facts(execution)
    if snapshot.get("definition") != digest:
        raise SnapshotError(
            "The execution snapshot was taken with a different state machine definition than "
            f"the one given (its states or fields differ). {_RESTORE_ADVICE}"
        )
    arn = execution.identity.execution_arn
    if snapshot.get("execution") != arn:
        raise SnapshotError(
            f"The execution snapshot belongs to the execution {snapshot.get('execution')!r}, "
            f"not to {arn!r}. {_RESTORE_ADVICE}"
        )
    try:
        _restore(execution, snapshot)
    except (KeyError, IndexError, TypeError, ValueError, AttributeError) as exc:
        raise SnapshotError(
            f"The execution snapshot of {arn!r} is damaged or does not fit its definition "
            f"({type(exc).__name__}: {exc}). {_RESTORE_ADVICE}"
        ) from None


def _restore(execution: Execution, snapshot: Mapping[str, Any]) -> None:
    execution.status = snapshot["status"]
    execution.output = snapshot["output"]
    if execution.status == "SUCCEEDED":
        execution.output_json = dumps_text(execution.output)
    execution.error = snapshot["error"]
    execution.cause = snapshot["cause"]
    execution.input = snapshot["input"]
    execution.start_time = float(snapshot["start"])
    execution.stop_time = snapshot["stop"]
    execution.deadline = snapshot["deadline"]
    execution.transitions = int(snapshot["transitions"])
    count = int(snapshot["events"])
    execution._events = EventLog(count)
    execution._taken = count
    execution._next_effect_id = int(snapshot["next_effect"])
    execution.region = snapshot["region"]

    execution.redrive_count = int(snapshot.get("redrives", 0))
    frames = _restore_frames(execution, snapshot["frames"])
    redrive = snapshot.get("redrive")
    if redrive:
        execution._redrive_root = _restore_frames(execution, redrive)[0]

    execution._ready.extend(frames[number] for number in snapshot["ready"])
    for task in snapshot["tasks"]:
        frame = frames[task["frame"]]
        state = frame.graph.states[frame.state_name]
        token = task.get("token")
        if isinstance(state, MapState) and task["resource_type"] == MAP_RUN_FAMILY:
            resource = MAP_RUN_RESOURCE
            context: dict[str, Any] = {}
        elif not isinstance(state, TaskState):
            raise TypeError(f"the state {state.name!r} awaiting a task is not a Task state")
        else:
            resource = state.resource
            context = execution.context_object(frame, state)
            if token is not None and waits_for_token(resource):
                context["Task"] = {"Token": token}
        effect = TaskEffect(
            id=task["id"],
            resource=resource,
            parameters=task["parameters"],
            state_name=state.name,
            context=context,
            timeout_seconds=task["timeout"],
            heartbeat_seconds=task["heartbeat"],
            identity=execution.identity,
            region=execution.region,
            jsonata=state.jsonata,
            task_token=token,
        )
        if "progress" in task:
            execution._task_progress[task["id"]] = task["progress"]
        execution._tasks[task["id"]] = (
            frame,
            state,
            task["resource_type"],
            task["resource"],
            effect,
        )
    for effect_id, frame_number, kind, due in snapshot["timers"]:
        execution._timers[effect_id] = (frames[frame_number], kind, float(due))
    execution._cancelled.extend(snapshot["cancelled"])


def _restore_frames(execution: Execution, records: list[dict[str, Any]]) -> list[Frame]:
    """Frames from their records (parents first), fan-outs included."""
    definition = execution.definition
    frames: list[Frame] = []
    for record in records:
        parent_number = record["parent"]
        parent = None if parent_number is None else frames[parent_number]
        graph = _resolve_graph(definition, record["graph"])
        frame = Frame(graph, record["input"], parent, record["index"], record["last_event"])
        state_name = record["state"]
        if state_name not in graph.states:
            raise KeyError(f"no state {state_name!r} in the scope {record['graph']}")
        frame.state_name = state_name
        frame.fresh = record["fresh"]
        if not frame.fresh:
            # Entering a state encodes its input once; a state that passes its input through
            # reuses that text. The same encoder gives the same text again.
            frame.input_json = dumps_text(frame.input)
        frame.entered_event_id = record["entered_event"]
        frame.entered_at = record["entered_at"]
        frame.retry_counts = record["retry_counts"]
        frame.resume = _resume(record["resume"])
        frame.pending_effect = record["pending_effect"]
        frame.aborted = record["aborted"]
        if "variables" in record:
            frame.variables = record["variables"]
        frames.append(frame)
    # Fan-outs second: they refer to children listed after their parent.
    for frame, record in zip(frames, records, strict=True):
        fanout_record = record.get("fanout")
        if fanout_record is not None:
            frame.fanout = _fanout(execution, frame, fanout_record, frames)
    return frames


def _resume(record: list[Any] | None) -> tuple[str, Any] | None:
    if record is None:
        return None
    kind = record[0]
    if kind == "result":
        return ("result", record[1])
    if kind == "error":
        return ("error", (record[1], record[2], record[3]))
    if kind == "timer":
        return ("timer", None)
    raise ValueError(f"unknown resume kind {kind!r}")


def _fanout(
    execution: Execution, frame: Frame, record: Mapping[str, Any], frames: list[Frame]
) -> Fanout:
    state = frame.graph.states[frame.state_name]
    if not isinstance(state, ParallelState | MapState):
        raise TypeError(f"the state {state.name!r} with branches is not a Parallel or Map state")
    fanout = Fanout(
        state,
        record.get("raw_input", frame.input),
        record.get("effective_input", frame.input),
        record["total"],
    )
    fanout.results = record["results"]
    fanout.waiting.extend((index, item) for index, item in record["waiting"])
    fanout.running = record["running"]
    fanout.remaining = record["remaining"]
    fanout.failures = record["failures"]
    fanout.concurrency = record["concurrency"]
    fanout.tolerated_count = record["tolerated_count"]
    fanout.tolerated_percentage = record["tolerated_percentage"]
    for index, number in record["children"]:
        fanout.children[index] = frames[number]
    for index, number in record.get("failed", ()):
        fanout.failed[index] = frames[number]
    error = record["error"]
    fanout.error = None if error is None else (error[0], error[1])
    if fanout.is_map:
        # What the Map state evaluated its items with, rebuilt: the frame's input, entry time,
        # retry count and variables are unchanged while it waits for its iterations.
        fanout.context = (
            execution.bindings(frame, state) if state.jsonata else execution._context(frame, state)
        )
    return fanout


# ------------------------------------------------------------------------------ as bytes


def encode_snapshot(snapshot: Mapping[str, Any]) -> bytes:
    """The snapshot as compact JSON bytes (exact for integers wider than 64 bits too)."""
    return dumps_bytes(snapshot)


def decode_snapshot(data: bytes | str) -> dict[str, Any]:
    """A snapshot from :func:`encode_snapshot`'s bytes.

    orjson is used unless the text holds a number of 19 digits or more, which orjson could
    turn into a float; such text is decoded by :mod:`json`, which keeps integers exact.
    """
    raw = data.encode() if isinstance(data, str) else data
    decoded = json.loads(raw) if _LONG_NUMBER.search(raw) else orjson.loads(raw)
    if not isinstance(decoded, dict):
        raise SnapshotError(
            f"An execution snapshot is a JSON object, got {type(decoded).__name__}. "
            f"{_RESTORE_ADVICE}"
        )
    return decoded
