"""Starting a map run: what the service does with a Distributed Map state's map-run effect.

The engine asks for a map run with an effect whose resource is
:data:`~stepline.engine._map_runs.MAP_RUN_RESOURCE` and whose task token the map run's outcome
completes (the worker stores the token with the step, like a ``.waitForTaskToken`` task's, and
calls :class:`MapRunStarter` once that step is committed). Starting stores, in one transaction:

- the map run (``arn:…:mapRun:<state machine>/<label>:<uuid>``), its limits and the token;
- the revision its children run: the ItemProcessor as a state machine of its own, under the
  labelled state machine ARN ``arn:…:stateMachine:<state machine>/<label>`` (AWS's form), with
  the parent's role and logging configuration;
- one PENDING child per item (or per batch of items), with its input.

Then a :class:`~stepline.service._map_run_driver.MapRunDriver` runs the children. Names are
derived from the parent execution, its redrive count and the effect id, so a start repeated
after a restart (the effect re-issued) finds the map run it stored before. A parent that was
redriven finds its earlier unsuccessful map run of the same state and redrives it instead
(``MapRunRedriven``): its failed children run again, its succeeded ones keep their results.
"""

from __future__ import annotations

import dataclasses
import time
import uuid
from collections.abc import Iterator, Mapping
from typing import Any, Final

from stepline.asl._errors import RUNTIME, StatesError
from stepline.asl._json import dumps_text
from stepline.engine import TaskEffect
from stepline.engine._map_runs import MAP_RUN_RESOURCE
from stepline.engine._ports import HeartbeatSink
from stepline.service._context import ServiceContext
from stepline.service._map_run_driver import ensure_driver
from stepline.store import MapRunRecord, StateMachineRevisionRecord, StoreConflict

__all__ = ["MapRunStarter", "find_map_state", "register_map_runs"]

_NAMESPACE: Final = uuid.UUID("0b6d4c2e-3f1a-4d7b-9a52-8c1e7f3d2a64")


def register_map_runs(context: ServiceContext) -> None:
    """Serve map-run effects in ``context.tasks``."""
    context.tasks.register(MAP_RUN_RESOURCE, MapRunStarter(context))


def find_map_state(definition: Mapping[str, Any], name: str) -> Mapping[str, Any] | None:
    """The body of the state called ``name`` anywhere in ``definition`` (names are unique
    across a state machine), or ``None``."""
    for states in _scopes(definition):
        body = states.get(name)
        if isinstance(body, Mapping):
            return body
    return None


def _scopes(scope: Mapping[str, Any]) -> Iterator[Mapping[str, Any]]:
    states = scope.get("States")
    if not isinstance(states, Mapping):
        return
    yield states
    for body in states.values():
        if not isinstance(body, Mapping):
            continue
        for branch in body.get("Branches") or ():
            if isinstance(branch, Mapping):
                yield from _scopes(branch)
        for field in ("ItemProcessor", "Iterator"):
            nested = body.get(field)
            if isinstance(nested, Mapping):
                yield from _scopes(nested)


def processor_definition(definition: Mapping[str, Any], body: Mapping[str, Any]) -> str:
    """The ItemProcessor as a state machine definition of its own (JSON text).

    It keeps the parent's query language unless it sets its own, as a processor inherits it.
    """
    processor = body.get("ItemProcessor") or {}
    machine: dict[str, Any] = {}
    language = processor.get("QueryLanguage") or definition.get("QueryLanguage")
    if language is not None:
        machine["QueryLanguage"] = language
    if "Comment" in processor:
        machine["Comment"] = processor["Comment"]
    machine["StartAt"] = processor.get("StartAt")
    machine["States"] = processor.get("States")
    return dumps_text(machine)


class MapRunStarter:
    """The map-run invoker (the engine's ``TaskInvoker`` port for map-run effects).

    Args:
        context: The service.
    """

    def __init__(self, context: ServiceContext) -> None:
        self.context = context

    async def invoke(self, effect: TaskEffect, heartbeat: HeartbeatSink) -> Any:
        """Store the map run (or find it, or redrive the parent's earlier one) and start
        driving it; answer ``{"mapRunArn"}`` (and ``redriveCount`` when redriven).

        Raises:
            StatesError: ``States.Runtime`` when the parent or its definition is gone.
        """
        context = self.context
        store = context.store
        identity = effect.identity
        token = effect.task_token
        if identity is None or token is None:
            raise StatesError(RUNTIME, "A map run needs its parent execution and task token.")
        parent = await store.get_execution(identity.execution_arn)
        revision = None if parent is None else await store.get_revision(parent.revision_id)
        if parent is None or revision is None:
            raise StatesError(
                RUNTIME,
                f"The execution '{identity.execution_arn}' that starts the map run is gone.",
            )
        parameters = effect.parameters
        state_name = parameters["stateName"]
        now = time.time()
        if parent.redrive_count:
            redriven = await self._redrive_earlier(parent.arn, state_name, token, now)
            if redriven is not None:
                ensure_driver(context, redriven)
                return {"mapRunArn": redriven.arn, "redriveCount": redriven.redrive_count}
        compiled = context.compiled(revision.revision_id, revision.definition)
        body = find_map_state(compiled.definition, state_name)
        if body is None:
            raise StatesError(RUNTIME, f"The Map state '{state_name}' is not in the definition.")
        seed = f"{parent.arn}#{parent.redrive_count}#{effect.id}"
        run_id = str(uuid.uuid5(_NAMESPACE, seed))
        machine_name = parent.state_machine_arn.rsplit(":", 1)[-1]
        label = body.get("Label") or str(uuid.uuid5(_NAMESPACE, seed + "#label"))
        arn = f"{context.arn_prefix}mapRun:{machine_name}/{label}:{run_id}"
        config = (body.get("ItemProcessor") or {}).get("ProcessorConfig") or {}
        children = processor_revision(
            revision,
            revision_id=str(uuid.uuid5(_NAMESPACE, arn)),
            state_machine_arn=f"{context.arn_prefix}stateMachine:{machine_name}/{label}",
            definition=processor_definition(compiled.definition, body),
        )
        record = MapRunRecord(
            arn=arn,
            execution_arn=parent.arn,
            state_machine_arn=parent.state_machine_arn,
            label=label,
            state_name=state_name,
            execution_type=config.get("ExecutionType", "STANDARD"),
            revision_id=children.revision_id,
            status="RUNNING",
            start_date=now,
            max_concurrency=parameters["maxConcurrency"],
            tolerated_failure_count=parameters["toleratedFailureCount"],
            tolerated_failure_percentage=parameters["toleratedFailurePercentage"],
            task_token=token,
        )
        batched = "ItemBatcher" in body
        inputs = [
            (
                len(item.get("Items", ())) if batched and isinstance(item, dict) else 1,
                dumps_text(item),
            )
            for item in parameters["items"]
        ]
        stored, _created = await store.create_map_run(record, inputs, children)
        ensure_driver(context, stored)
        return {"mapRunArn": stored.arn}

    async def _redrive_earlier(
        self, execution_arn: str, state_name: str, token: str, now: float
    ) -> MapRunRecord | None:
        """Redrive the parent's latest map run of ``state_name`` if it did not succeed."""
        store = self.context.store
        page = await store.list_map_runs(execution_arn, max_results=1000)
        for run in page.items:  # newest first
            if run.state_name != state_name:
                continue
            if run.task_token == token:
                return run  # this very start, repeated after a restart
            if run.status in ("FAILED", "ABORTED"):
                try:
                    return await store.redrive_map_run(run.arn, task_token=token, now=now)
                except StoreConflict:
                    return None
            return None
        return None


def processor_revision(
    parent: StateMachineRevisionRecord,
    *,
    revision_id: str,
    state_machine_arn: str,
    definition: str,
) -> StateMachineRevisionRecord:
    """The revision a map run's children run: the processor, with the parent's role and
    configurations."""
    return dataclasses.replace(
        parent,
        revision_id=revision_id,
        state_machine_arn=state_machine_arn,
        definition=definition,
    )
