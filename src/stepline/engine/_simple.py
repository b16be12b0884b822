"""The states that need no task: Pass, Choice, Wait, Succeed and Fail.

Part of :class:`~stepline.engine._execution.Execution` (as a mixin, so the frame loop can call
them without indirection); each handler returns what the frame loop should do next.
"""

from __future__ import annotations

import math
from typing import Any

from stepline.asl._errors import NO_CHOICE_MATCHED, RUNTIME, StatesError
from stepline.asl._model import ChoiceState, FailState, PassState, SucceedState, WaitState
from stepline.asl._paths import MISSING
from stepline.asl._timestamps import parse_timestamp
from stepline.engine._frames import BLOCKED, Frame
from stepline.engine._io import apply_input_path, apply_output_path, apply_result, select
from stepline.engine._mixin_base import ExecutionMixin

__all__ = ["SimpleStatesMixin"]


class SimpleStatesMixin(ExecutionMixin):
    """Pass, Choice, Wait, Succeed and Fail handlers of the execution."""

    def _run_pass(self, frame: Frame, state: PassState) -> int:
        raw = frame.input
        if state.passthrough:
            return self._exit(frame, state, raw)
        context = self.context_object(frame, state) if state.uses_context else None
        effective = (
            raw
            if state.input_path is None and not state.input_path_null
            else apply_input_path(state, raw, context)
        )
        if state.parameters is not None:
            effective = state.parameters(effective, context)
        result = state.result if state.has_result else effective
        assigned = (
            self._assign(frame, state.assign, result, context) if state.assign is not None else None
        )
        return self._exit(frame, state, apply_result(state, raw, result, context), assigned)

    def _run_choice(self, frame: Frame, state: ChoiceState) -> int:
        context = self._context(frame, state)
        effective = apply_input_path(state, frame.input, context)
        target = state.default
        assign = state.assign  # the state's own Assign goes with the Default
        for branch in state.choices:
            if branch.matches(effective, context):  # type: ignore[misc]  # set in JSONPath
                target = branch.next
                assign = branch.assign
                break
        else:
            if target is None:
                raise StatesError(
                    NO_CHOICE_MATCHED,
                    f"No Choice rule of the state '{state.name}' matched the input, and the "
                    "state has no Default. Add a Default or a rule that covers this input.",
                )
        assigned = self._assign(frame, assign, effective, context) if assign is not None else None
        output = apply_output_path(state, effective, context)
        return self._exit(frame, state, output, assigned, target)

    def _run_wait(self, frame: Frame, state: WaitState) -> int:
        context = self._context(frame, state)
        effective = apply_input_path(state, frame.input, context)
        if frame.resume is None:
            due = self._wait_until(state, effective, context)
            if due > self.now():
                self._start_timer(frame, due, "wait")
                return BLOCKED
        frame.resume = None
        assigned = (
            self._assign(frame, state.assign, effective, context)
            if state.assign is not None
            else None
        )
        return self._exit(frame, state, apply_output_path(state, effective, context), assigned)

    def _wait_until(self, state: WaitState, effective: Any, context: Any) -> float:
        if state.seconds is not None:
            return self.now() + state.seconds
        if state.timestamp is not None:
            # AWS waits until the timestamp with its milliseconds truncated.
            return float(math.floor(state.timestamp.timestamp()))
        if state.seconds_path is not None:
            seconds = select(state.seconds_path, "SecondsPath", effective, context)
            if type(seconds) is not int or seconds < 0:
                raise StatesError(
                    RUNTIME,
                    f"The SecondsPath '{state.seconds_path.text}' of the Wait state "
                    f"'{state.name}' must select a non-negative integer, got {seconds!r}.",
                )
            return self.now() + seconds
        assert state.timestamp_path is not None
        text = select(state.timestamp_path, "TimestampPath", effective, context)
        moment = parse_timestamp(text) if isinstance(text, str) else None
        if moment is None:
            raise StatesError(
                RUNTIME,
                f"The TimestampPath '{state.timestamp_path.text}' of the Wait state "
                f"'{state.name}' must select an ISO 8601 timestamp such as "
                f"'2026-01-31T12:00:00Z', got {text!r}.",
            )
        return float(math.floor(moment.timestamp()))

    def _run_succeed(self, frame: Frame, state: SucceedState) -> int:
        context = self._context(frame, state)
        effective = apply_input_path(state, frame.input, context)
        return self._exit(frame, state, apply_output_path(state, effective, context))

    def _run_fail(self, frame: Frame, state: FailState) -> int:
        error, cause = state.error, state.cause
        if state.error_path is not None:
            error = self._fail_field(frame, state, state.error_path, "ErrorPath")
        if state.cause_path is not None:
            cause = self._fail_field(frame, state, state.cause_path, "CausePath")
        return self._fail_frame(frame, error, cause)

    def _fail_field(self, frame: Frame, state: FailState, evaluate: Any, field: str) -> str:
        value = evaluate(frame.input, self._context(frame, state))
        if not isinstance(value, str):
            text = state.error_path_text if field == "ErrorPath" else state.cause_path_text
            found = "nothing" if value is MISSING else repr(value)
            raise StatesError(
                RUNTIME,
                f"The {field} '{text}' of the Fail state '{state.name}' must select a string, "
                f"got {found}.",
            )
        return value
