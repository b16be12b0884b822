"""The readable trace of ``stepline run``: building it from a real history, and drawing it.

Histories come from real executions (``StateMachine`` with a ``VirtualClock`` and Python task
functions), so these tests follow the engine's actual event shapes.
"""

from __future__ import annotations

import io
import re
from typing import Any

import pytest

from stepline import StateMachine, VirtualClock
from stepline.cli._render import (
    Style,
    format_duration,
    render_outcome,
    render_trace,
    shorten,
    style_for,
)
from stepline.cli._trace import Group, Note, Trace, build_trace

ARN = "arn:aws:states:::stepline:"
PLAIN = Style(color=False, unicode=True, width=100)


def run_trace(
    definition: dict[str, Any], execution_input: Any = None, **tasks: Any
) -> tuple[Trace, Any]:
    machine = StateMachine(
        definition,
        tasks={ARN + name: fn for name, fn in tasks.items()},
        clock=VirtualClock(start=1_000_000.0),
    )
    result = machine.run({} if execution_input is None else execution_input)
    return build_trace(result.history), result


def task(name: str, **fields: Any) -> dict[str, Any]:
    return {"Type": "Task", "Resource": ARN + name, **fields}


def pass_end() -> dict[str, Any]:
    return {"Type": "Pass", "End": True}


def names(lines: list[str]) -> list[str]:
    """Each line cut after its first word group: indentation, mark and state name."""
    return [re.sub(r"(\S)  .*$", r"\1", line) for line in lines]


# --- pure helpers -----------------------------------------------------------------------------


def test_shorten_keeps_short_text_and_cuts_long_text_to_the_width() -> None:
    assert shorten("abc", 3) == "abc"
    assert shorten("abcdef", 4) == "abc…"
    assert shorten("abcdef", 5, "...") == "ab..."
    assert len(shorten("x" * 500, 40)) == 40


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (0.0, "<1ms"),
        (0.0004, "<1ms"),
        (0.042, "42ms"),
        (1.0, "1s"),
        (1.5, "1.5s"),
        (59.994, "59.99s"),
        (125, "2m 05s"),
        (3600, "1h 00m"),
        (3 * 3600 + 120, "3h 02m"),
    ],
)
def test_format_duration(seconds: float, text: str) -> None:
    assert format_duration(seconds) == text


class _Stream(io.StringIO):
    def __init__(self, tty: bool, encoding: str) -> None:
        super().__init__()
        self._tty = tty
        self._encoding = encoding

    def isatty(self) -> bool:
        return self._tty

    @property
    def encoding(self) -> str:  # type: ignore[override]
        return self._encoding


def test_style_uses_colour_only_on_a_terminal_without_no_color() -> None:
    assert style_for(_Stream(True, "utf-8"), {}).color
    assert not style_for(_Stream(True, "utf-8"), {"NO_COLOR": "1"}).color
    assert not style_for(_Stream(True, "utf-8"), {"TERM": "dumb"}).color
    assert not style_for(_Stream(False, "utf-8"), {}).color


def test_style_falls_back_to_ascii_marks_when_the_encoding_cannot_carry_unicode() -> None:
    assert style_for(_Stream(False, "utf-8"), {}).unicode
    assert not style_for(_Stream(False, "ascii"), {}).unicode
    assert Style(unicode=False).mark("arrow") == "->"


# --- building the trace -----------------------------------------------------------------------


def test_each_state_has_its_type_input_output_and_virtual_duration() -> None:
    definition = {
        "StartAt": "Shape",
        "States": {
            "Shape": {"Type": "Pass", "Result": {"n": 1}, "Next": "Nap"},
            "Nap": {"Type": "Wait", "Seconds": 90, "End": True},
        },
    }

    trace, _ = run_trace(definition, {"in": True})

    assert trace.status == "SUCCEEDED"
    assert trace.input == '{"in":true}'
    shape, nap = trace.runs
    assert (shape.name, shape.type, shape.input, shape.output) == (
        "Shape",
        "Pass",
        '{"in":true}',
        '{"n":1}',
    )
    assert (nap.type, nap.duration, nap.status) == ("Wait", 90.0, "succeeded")
    assert trace.duration == 90.0


def test_retries_are_numbered_with_the_error_and_the_back_off() -> None:
    calls: list[int] = []

    def flaky(_: Any) -> str:
        calls.append(1)
        if len(calls) < 3:
            raise RuntimeError("Boom")
        return "ok"

    definition = {
        "StartAt": "T",
        "States": {
            "T": task(
                "flaky",
                Retry=[{"ErrorEquals": ["States.ALL"], "IntervalSeconds": 2, "BackoffRate": 3}],
                End=True,
            )
        },
    }

    trace, _ = run_trace(definition, flaky=flaky)

    (run,) = trace.runs
    assert run.status == "succeeded"
    assert [(n.kind, n.attempt, n.error, n.cause, n.waited) for n in run.notes] == [
        ("retry", 1, "RuntimeError", "Boom", 2.0),
        ("retry", 2, "RuntimeError", "Boom", 6.0),
    ]
    lines = render_trace(trace, PLAIN)
    assert "    ↻ retry 1 after RuntimeError: Boom (waited 2s)" in lines
    assert "    ↻ retry 2 after RuntimeError: Boom (waited 6s)" in lines


def test_a_caught_error_names_the_catch_target() -> None:
    def refuse(_: Any) -> None:
        raise ValueError("no")

    definition = {
        "StartAt": "T",
        "States": {
            "T": task(
                "refuse",
                Catch=[{"ErrorEquals": ["States.ALL"], "Next": "Handle", "ResultPath": "$.e"}],
                End=True,
            ),
            "Handle": pass_end(),
        },
    }

    trace, _ = run_trace(definition, refuse=refuse)

    first, second = trace.runs
    assert first.status == "caught"
    assert first.notes == [Note("caught", "ValueError", "no", target="Handle", at=first.ended)]
    assert second.name == "Handle"
    assert "    ↪ caught ValueError: no → Handle" in render_trace(trace, PLAIN)


def test_a_failure_outside_a_task_is_shown_on_the_state_that_failed() -> None:
    definition = {
        "StartAt": "P",
        "States": {"P": {"Type": "Pass", "InputPath": "$.x", "End": True}},
    }

    trace, result = run_trace(definition)

    (run,) = trace.runs
    assert run.status == "failed"
    assert run.error is not None and run.error.error == "States.Runtime"
    assert trace.status == "FAILED"
    assert trace.cause == result.cause


def test_map_iterations_and_parallel_branches_become_groups() -> None:
    def check(item: int) -> int:
        if item == 2:
            raise KeyError("two")
        return item

    definition = {
        "StartAt": "Both",
        "States": {
            "Both": {
                "Type": "Parallel",
                "Branches": [
                    {"StartAt": "Left", "States": {"Left": pass_end()}},
                    {
                        "StartAt": "Each",
                        "States": {
                            "Each": {
                                "Type": "Map",
                                "MaxConcurrency": 1,
                                "ItemProcessor": {
                                    "StartAt": "Check",
                                    "States": {"Check": task("check", End=True)},
                                },
                                "End": True,
                            }
                        },
                    },
                ],
                "End": True,
            }
        },
    }

    trace, _ = run_trace(definition, [1, 2, 3], check=check)

    (both,) = trace.runs
    assert both.status == "failed"
    assert [(g.label, g.status) for g in both.groups] == [
        ("branch 1", "succeeded"),
        ("branch 2", "failed"),
    ]
    each = both.groups[1].runs[0]
    assert each.length == 3
    assert [(g.label, g.status) for g in each.groups] == [
        ("iteration 0", "succeeded"),
        ("iteration 1", "failed"),
    ]
    assert both.error is not None and both.error.error == "KeyError"
    assert names(render_trace(trace, PLAIN)) == [
        "Input: [1,2,3]",
        "✗ Both",
        "  branch 1",
        "    ✓ Left",
        "  branch 2 failed",
        "    ✗ Each",
        "      iteration 0",
        "        ✓ Check",
        "      iteration 1 failed",
        "        ✗ Check",
        "            ✗ KeyError: 'two'",
    ]


def test_a_retried_map_shows_each_attempt_in_order() -> None:
    calls: list[int] = []

    def once(_: Any) -> str:
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("first time")
        return "ok"

    definition = {
        "StartAt": "M",
        "States": {
            "M": {
                "Type": "Map",
                "Retry": [{"ErrorEquals": ["States.ALL"]}],
                "ItemProcessor": {"StartAt": "T", "States": {"T": task("once", End=True)}},
                "End": True,
            }
        },
    }

    trace, _ = run_trace(definition, [0], once=once)

    (run,) = trace.runs
    assert run.status == "succeeded"
    steps = [s.label if isinstance(s, Group) else f"{s.kind} {s.attempt}" for s in run.steps]
    assert steps == ["iteration 0", "retry 1", "iteration 0 (attempt 2)"]


def test_a_timed_out_state_lasts_until_the_execution_ended() -> None:
    definition = {
        "StartAt": "W",
        "TimeoutSeconds": 5,
        "States": {"W": {"Type": "Wait", "Seconds": 60, "End": True}},
    }

    trace, _ = run_trace(definition)

    (run,) = trace.runs
    assert trace.status == "TIMED_OUT"
    assert run.status == "unfinished"
    assert run.duration == 5.0
    assert render_trace(trace, PLAIN)[1].startswith("… W  Wait  5s  {}")


# --- drawing ----------------------------------------------------------------------------------


def test_long_values_are_shortened_to_fit_the_width() -> None:
    definition = {
        "StartAt": "P",
        "States": {"P": {"Type": "Pass", "Result": "y" * 300, "End": True}},
    }

    trace, _ = run_trace(definition, {"x": "x" * 300})
    lines = render_trace(trace, Style(width=80))

    assert all(len(line) <= 80 for line in lines)
    state = lines[1]
    assert state.startswith('✓ P  Pass  <1ms  {"x":"xxx')
    assert 'x… → "yyy' in state
    assert state.endswith("y…")


def test_many_iterations_are_summarised_but_failures_are_always_shown() -> None:
    def fail_last(item: int) -> int:
        if item == 9:
            raise ValueError("nine")
        return item

    definition = {
        "StartAt": "M",
        "States": {
            "M": {
                "Type": "Map",
                "MaxConcurrency": 1,
                "ItemProcessor": {"StartAt": "T", "States": {"T": task("f", End=True)}},
                "End": True,
            }
        },
    }

    trace, _ = run_trace(definition, list(range(10)), f=fail_last)
    lines = render_trace(trace, Style(max_groups=3))

    labels = [line.strip() for line in lines if "iteration" in line]
    assert labels == [
        "iteration 0",
        "iteration 1",
        "iteration 2",
        "iteration 9 failed",
        "… 6 more iterations succeeded",
    ]


def test_colour_codes_appear_only_when_asked_for() -> None:
    trace, _ = run_trace({"StartAt": "P", "States": {"P": pass_end()}})

    coloured = render_trace(trace, Style(color=True))
    plain = render_trace(trace, Style(color=False, unicode=False))

    assert any("\x1b[32m✓\x1b[0m" in line for line in coloured)
    assert not any("\x1b[" in line for line in plain)
    assert plain[1].startswith("+ P  Pass  <1ms  {} -> {}")


def test_outcome_shows_the_output_or_the_error_and_cause() -> None:
    short = render_outcome("SUCCEEDED", {"a": 1}, error=None, cause=None, duration=2, style=PLAIN)
    long = render_outcome(
        "SUCCEEDED", {"k": "v" * 200}, error=None, cause=None, duration=0, style=PLAIN
    )
    failed = render_outcome(
        "FAILED", None, error="States.TaskFailed", cause="it broke", duration=0.5, style=PLAIN
    )

    assert short == ["SUCCEEDED in 2s", 'Output: {"a":1}']
    assert long[1] == "Output:"
    assert long[2:] == ["{", f'  "k": "{"v" * 200}"', "}"]
    assert failed == ["FAILED in 500ms", "Error: States.TaskFailed", "Cause: it broke"]


def test_trace_shows_assigned_variables_under_the_state() -> None:
    import io

    from stepline import StateMachine, VirtualClock
    from stepline.cli._render import render_trace, style_for
    from stepline.cli._trace import build_trace

    definition = {
        "StartAt": "A",
        "States": {"A": {"Type": "Pass", "Assign": {"count": 2, "label": "x"}, "End": True}},
    }
    result = StateMachine(definition, clock=VirtualClock()).run({})
    trace = build_trace(result.history)
    assert trace.runs[0].assigned == {"count": "2", "label": '"x"'}
    lines = render_trace(trace, style_for(io.StringIO()))
    assert any('assigned $count = 2, $label = "x"' in line for line in lines)
