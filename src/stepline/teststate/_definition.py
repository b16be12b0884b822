"""The state under test, and the small state machine that runs it through the real engine.

TestState's ``definition`` is either one state (``{"Type": "Pass", ...}``) or a whole state
machine with ``stateName`` naming the state (at any depth: inside a Parallel branch or a Map's
ItemProcessor too). Either way the state is lifted into a machine of its own::

    {"StartAt": "<state>", "States": {"<state>": <the state>, "<each Next>": {"Type": "Succeed"}}}

so that it is validated by the one validator and run by the one engine; every state it can
transition to (``Next``, Choice rules and ``Default``, Catchers) is a placeholder that the test
never enters (the run stops when the state under test exits, see ``_execution``).

A single state's text is embedded into the machine's text rather than re-serialised, so the
validator still sees keys written twice; its diagnostics are reported with locations relative
to the state (``/Retry/0/BackoffRate``), as the definition given was the state itself.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Final

from stepline.asl import (
    CompiledDefinition,
    DefinitionError,
    Diagnostic,
    InvalidDefinition,
    compile_definition,
    validate_definition,
)
from stepline.asl._model import State
from stepline.teststate._errors import INVALID_DEFINITION, VALIDATION_EXCEPTION, TestStateError

__all__ = ["SINGLE_STATE_NAME", "TestedState", "load_tested_state"]

SINGLE_STATE_NAME: Final = "TestState"
"""The name a lone state gets (it shows in ``$$.State.Name`` and in error causes)."""

_HTTP_INVOKE: Final = "arn:aws:states:::http:invoke"


@dataclass(frozen=True, slots=True)
class TestedState:
    """The state under test.

    Attributes:
        compiled: The one-state machine that runs it.
        name: Its name in that machine (its own name when it came from a whole machine).
        display_name: How messages name it.
        type: Its ``Type``.
        body: Its definition, parsed.
        in_map: True when it was taken from inside a Map's ItemProcessor.
        inner_state_names: Names of the states inside it (Map/Parallel).
    """

    __test__ = False

    compiled: CompiledDefinition
    name: str
    display_name: str
    type: str
    body: Mapping[str, Any]
    in_map: bool
    inner_state_names: frozenset[str]

    @property
    def state(self) -> State:
        """The compiled state."""
        return self.compiled.graph.states[self.name]

    @property
    def resource(self) -> str:
        """A Task's ``Resource`` (``""`` for other states)."""
        value = self.body.get("Resource", "")
        return value if isinstance(value, str) else ""

    @property
    def is_http_task(self) -> bool:
        """True for an HTTP Task (``arn:aws:states:::http:invoke``)."""
        return self.type == "Task" and self.resource == _HTTP_INVOKE

    @property
    def needs_mock(self) -> str | None:
        """What makes the state testable only with a mock, or ``None``."""
        if self.type in ("Map", "Parallel"):
            return f"a {self.type} state"
        if self.type != "Task":
            return None
        resource = self.resource
        if ":activity:" in resource and resource.startswith("arn:"):
            return "an Activity task"
        if resource.endswith((".sync", ".sync:2")):
            return "a Task using the .sync integration pattern"
        if resource.endswith(".waitForTaskToken"):
            return "a Task using the .waitForTaskToken integration pattern"
        return None

    @property
    def has_retry(self) -> bool:
        """True when the state has a non-empty ``Retry``."""
        return bool(self.state.retry)

    @property
    def has_item_reader(self) -> bool:
        """True for a Map with an ``ItemReader``."""
        return self.type == "Map" and "ItemReader" in self.body


def _invalid_definition(diagnostics: list[Diagnostic], what: str) -> TestStateError:
    errors = tuple(d for d in diagnostics if d.severity == "ERROR")
    lines = "\n".join(f"  {d}" for d in errors)
    count = len(errors)
    return TestStateError(
        INVALID_DEFINITION,
        f"The {what} is invalid ({count} problem{'s' if count != 1 else ''}):\n{lines}",
        errors,
    )


def _targets(body: Mapping[str, Any]) -> list[str]:
    """Every state the state can move to: Next, Choice rules, Default, Catchers."""
    found: list[str] = []
    candidates: list[Any] = [body.get("Next"), body.get("Default")]
    for field in ("Choices", "Catch"):
        entries = body.get(field)
        if isinstance(entries, list):
            candidates.extend(e.get("Next") for e in entries if isinstance(e, Mapping))
    for name in candidates:
        if isinstance(name, str) and name not in found:
            found.append(name)
    return found


def _scopes(body: Mapping[str, Any]) -> Iterator[Mapping[str, Any]]:
    """The ``States`` objects nested directly in a state (Parallel branches, Map processor)."""
    branches = body.get("Branches")
    if isinstance(branches, list):
        for branch in branches:
            if isinstance(branch, Mapping) and isinstance(branch.get("States"), Mapping):
                yield branch["States"]
    for field in ("ItemProcessor", "Iterator"):
        processor = body.get(field)
        if isinstance(processor, Mapping) and isinstance(processor.get("States"), Mapping):
            yield processor["States"]


def _find(states: Mapping[str, Any], name: str, in_map: bool) -> tuple[Any, bool] | None:
    """The body of the state called ``name`` anywhere under ``states``, and whether it is in a
    Map's processor."""
    if name in states:
        return states[name], in_map
    for body in states.values():
        if not isinstance(body, Mapping):
            continue
        inside_map = in_map or body.get("Type") == "Map"
        for scope in _scopes(body):
            found = _find(scope, name, inside_map)
            if found is not None:
                return found
    return None


def _inner_names(body: Mapping[str, Any]) -> frozenset[str]:
    names: set[str] = set()
    for scope in _scopes(body):
        for name, inner in scope.items():
            names.add(name)
            if isinstance(inner, Mapping):
                names |= _inner_names(inner)
    return frozenset(names)


def _machine_text(name: str, state_text: str, targets: list[str], language: Any) -> str:
    stubs = "".join(f',{json.dumps(target)}:{{"Type":"Succeed"}}' for target in targets)
    head = f'{{"QueryLanguage":{json.dumps(language)},' if language is not None else "{"
    return (
        f'{head}"StartAt":{json.dumps(name)},"States":{{{json.dumps(name)}:{state_text}{stubs}}}}}'
    )


def _relative(diagnostic: Diagnostic, prefix: str) -> Diagnostic:
    location = diagnostic.location
    if location == prefix or location.startswith(prefix + "/"):
        location = location[len(prefix) :]
    return Diagnostic(diagnostic.code, diagnostic.message, location, diagnostic.severity)


def load_tested_state(definition: str, state_name: str | None) -> TestedState:
    """Find the state to test and compile the machine that runs it.

    Args:
        definition: The request's ``definition`` (JSON text).
        state_name: The request's ``stateName``: the definition is then a whole machine.

    Raises:
        TestStateError: ``InvalidDefinition`` with the validator's diagnostics, or
            ``ValidationException`` when ``stateName`` names no state of the machine.
    """
    if state_name is not None:
        diagnostics = validate_definition(definition)
        if any(d.severity == "ERROR" for d in diagnostics):
            raise _invalid_definition(diagnostics, "state machine definition")
        machine = json.loads(definition)
        found = _find(machine["States"], state_name, False)
        if found is None:
            raise TestStateError(
                VALIDATION_EXCEPTION,
                f"The 'stateName' does not name a state of the definition (looked in the "
                f"machine's States, its Parallel branches and Map processors). Names are "
                f"case-sensitive; the top-level states are: "
                f"{', '.join(sorted(machine['States']))}.",
            )
        body, in_map = found
        name = display = state_name
        state_text = json.dumps(body)
        language = machine.get("QueryLanguage")
    else:
        try:
            body = json.loads(definition)
        except (json.JSONDecodeError, ValueError, RecursionError):
            raise _invalid_definition(validate_definition(definition), "state definition") from None
        if not isinstance(body, dict):
            raise TestStateError(
                INVALID_DEFINITION,
                'The definition must be a JSON object: one state, such as {"Type": "Pass", '
                "\"End\": true}, or a whole state machine together with 'stateName'.",
                (Diagnostic("SCHEMA_VALIDATION_FAILED", "Definition must be an object.", ""),),
            )
        if "Type" not in body and "States" in body:
            raise TestStateError(
                INVALID_DEFINITION,
                "The definition is a whole state machine, but no 'stateName' says which of its "
                "states to test. Give 'stateName', or pass the one state's definition.",
                (Diagnostic("SCHEMA_VALIDATION_FAILED", "Missing 'stateName'.", ""),),
            )
        in_map = False
        targets = _targets(body)
        name = SINGLE_STATE_NAME
        suffix = 1
        while name in targets:
            name = f"{SINGLE_STATE_NAME}-{suffix}"
            suffix += 1
        display = name
        state_text = definition
        language = None
    # A state may move to itself (a polling loop): it is its own target, not a placeholder.
    targets = [target for target in _targets(body) if target != name]
    text = _machine_text(name, state_text, targets, language)
    prefix = "/States/" + name.replace("~", "~0").replace("/", "~1")
    try:
        compiled = compile_definition(text)
    except InvalidDefinition as exc:
        diagnostics = [_relative(d, prefix) for d in exc.diagnostics]
        what = "state definition" if state_name is None else f"state '{display}'"
        raise _invalid_definition(diagnostics, what) from None
    except DefinitionError as exc:
        raise _invalid_definition([Diagnostic(exc.code, exc.message, "")], "definition") from None
    return TestedState(
        compiled=compiled,
        name=name,
        display_name=display,
        type=str(body.get("Type")),
        body=body,
        in_map=in_map,
        inner_state_names=_inner_names(body),
    )
