"""Render a :class:`~stepline.cli._trace.Trace` as lines a person reads in a terminal.

One line per state: a status mark, the name, the type, the duration, and ``input → output``
shortened with an ellipsis to fit the width. Retries, catches and failures follow on indented
lines; Parallel branches and Map iterations are indented under their state. Colour only when
writing to a terminal and ``NO_COLOR`` is unset; ASCII marks when the output encoding cannot
carry the Unicode ones. Everything here is a pure function of its arguments.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final, TextIO

from stepline.cli._trace import Group, Note, StateRun, Trace

__all__ = [
    "Style",
    "format_duration",
    "render_outcome",
    "render_trace",
    "shorten",
    "style_for",
]

_UNICODE: Final = {
    "succeeded": "✓",
    "caught": "↪",
    "failed": "✗",
    "unfinished": "…",
    "retry": "↻",
    "arrow": "→",
    "ellipsis": "…",
}
_ASCII: Final = {
    "succeeded": "+",
    "caught": "!",
    "failed": "x",
    "unfinished": "?",
    "retry": "~",
    "arrow": "->",
    "ellipsis": "...",
}
_COLOURS: Final = {
    "succeeded": "32",
    "caught": "33",
    "retry": "33",
    "failed": "31",
    "unfinished": "2",
    "dim": "2",
    "bold": "1",
}
_MIN_VALUE_WIDTH: Final = 16


@dataclass(frozen=True, slots=True)
class Style:
    """How to draw: colour or not, Unicode or ASCII marks, how wide.

    Attributes:
        color: Use ANSI colours.
        unicode: Use Unicode marks (``✓ ✗ → …``); ASCII otherwise.
        width: The line width to fit state lines into.
        max_groups: How many branches/iterations of one state to show before summarising.
    """

    color: bool = False
    unicode: bool = True
    width: int = 100
    max_groups: int = 20

    def mark(self, name: str) -> str:
        """The glyph called ``name`` (``succeeded``, ``failed``, ``arrow``…)."""
        return (_UNICODE if self.unicode else _ASCII)[name]

    def paint(self, text: str, colour: str) -> str:
        """``text`` in the colour called ``colour``, when colours are on."""
        if not self.color or not text:
            return text
        return f"\x1b[{_COLOURS[colour]}m{text}\x1b[0m"


def style_for(stream: TextIO, environ: Mapping[str, str] | None = None) -> Style:
    """The style for writing to ``stream``: colour only on a terminal without ``NO_COLOR``."""
    env = os.environ if environ is None else environ
    isatty = getattr(stream, "isatty", None)
    terminal = bool(isatty and isatty())
    color = terminal and not env.get("NO_COLOR") and env.get("TERM") != "dumb"
    encoding = getattr(stream, "encoding", None) or "ascii"
    try:
        "".join(_UNICODE.values()).encode(encoding)
        unicode = True
    except (UnicodeEncodeError, LookupError):
        unicode = False
    width = shutil.get_terminal_size((100, 24)).columns if terminal else 100
    return Style(color=color, unicode=unicode, width=max(width, 60))


def shorten(text: str, width: int, ellipsis: str = "…") -> str:
    """``text`` cut to at most ``width`` characters, ending with ``ellipsis`` when cut."""
    if len(text) <= width:
        return text
    keep = max(width - len(ellipsis), 0)
    return text[:keep] + ellipsis


def format_duration(seconds: float) -> str:
    """A short human duration: ``<1ms``, ``42ms``, ``1.5s``, ``2m 05s``, ``1h 02m``."""
    if seconds < 0.001:
        return "<1ms"
    if seconds < 1:
        return f"{seconds * 1000:.0f}ms"
    if seconds < 60:
        text = f"{seconds:.2f}".rstrip("0").rstrip(".")
        return f"{text}s"
    minutes, secs = divmod(round(seconds), 60)
    if minutes < 60:
        return f"{minutes}m {secs:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h {minutes:02d}m"


def render_trace(trace: Trace, style: Style) -> list[str]:
    """The trace's lines: the execution input, then every state run, nested."""
    lines: list[str] = []
    if trace.input is not None:
        label = "Input: "
        text = shorten(trace.input, style.width - len(label), style.mark("ellipsis"))
        lines.append(style.paint(label, "bold") + text)
    for run in trace.runs:
        _render_run(run, 0, style, lines)
    return lines


def render_outcome(
    status: str,
    output: Any,
    *,
    error: str | None,
    cause: str | None,
    duration: float,
    style: Style,
) -> list[str]:
    """The closing lines: the status and duration, then the output or the error and cause.

    The output is never shortened: it is what the user ran the workflow for. It stays on one
    line when that fits, and is indented otherwise.
    """
    colour = "succeeded" if status == "SUCCEEDED" else "failed"
    lines = [
        style.paint(f"{status}", colour) + style.paint(f" in {format_duration(duration)}", "dim")
    ]
    if status == "SUCCEEDED":
        compact = json.dumps(output, ensure_ascii=False, separators=(",", ":"))
        if len("Output: ") + len(compact) <= style.width:
            lines.append(style.paint("Output: ", "bold") + compact)
        else:
            lines.append(style.paint("Output:", "bold"))
            lines.extend(json.dumps(output, ensure_ascii=False, indent=2).splitlines())
    else:
        if error is not None:
            lines.append(style.paint("Error: ", "bold") + error)
        if cause is not None:
            lines.append(style.paint("Cause: ", "bold") + cause)
    return lines


# --- states -----------------------------------------------------------------------------------


def _render_run(run: StateRun, depth: int, style: Style, lines: list[str]) -> None:
    indent = "  " * depth
    status = run.status
    head_plain = f"{indent}{style.mark(status)} {run.name}  {run.type}  "
    head = (
        f"{indent}{style.paint(style.mark(status), status)} {style.paint(run.name, 'bold')}  "
        f"{style.paint(run.type, 'dim')}  "
    )
    timing = format_duration(run.duration)
    extra = _fanout_summary(run)
    head_plain += timing + extra + "  "
    head += style.paint(timing + extra, "dim") + "  "
    lines.append(head + _io(run, style, style.width - len(head_plain)))
    if run.assigned:
        lines.append(_assigned_line(run.assigned, indent + "    ", style))
    block: list[Group] = []
    for step in run.steps:
        if isinstance(step, Group):
            block.append(step)
            continue
        _render_groups(block, run.type, depth + 1, style, lines)
        block = []
        lines.append(_note_line(step, indent + "    ", style))
    _render_groups(block, run.type, depth + 1, style, lines)
    if run.error is not None and not run.error.inherited:
        lines.append(_note_line(run.error, indent + "    ", style))


def _assigned_line(assigned: dict[str, str], indent: str, style: Style) -> str:
    """``assigned $count = 2, $label = "x"``, shortened to the terminal's width."""
    text = ", ".join(f"${name} = {value}" for name, value in assigned.items())
    room = max(style.width - len(indent) - len("assigned "), _MIN_VALUE_WIDTH)
    return indent + style.paint("assigned ", "dim") + shorten(text, room, style.mark("ellipsis"))


def _fanout_summary(run: StateRun) -> str:
    if run.type == "Map" and run.length is not None:
        return f"  {run.length} item{'s' if run.length != 1 else ''}"
    if run.type == "Parallel" and run.groups:
        count = sum(1 for group in run.groups if group.attempt == 1)
        return f"  {count} branch{'es' if count != 1 else ''}"
    return ""


def _io(run: StateRun, style: Style, available: int) -> str:
    arrow = f" {style.mark('arrow')} "
    ellipsis = style.mark("ellipsis")
    source = run.input if run.input is not None else ""
    if run.output is None:
        return style.paint(shorten(source, max(available, _MIN_VALUE_WIDTH), ellipsis), "dim")
    room = max(available - len(arrow), 2 * _MIN_VALUE_WIDTH)
    left, right = _fit_pair(source, run.output, room, ellipsis)
    return style.paint(left, "dim") + arrow + right


def _fit_pair(left: str, right: str, room: int, ellipsis: str) -> tuple[str, str]:
    """Shorten two texts to fit ``room`` together, giving a short one's spare room away."""
    if len(left) + len(right) <= room:
        return left, right
    half = room // 2
    if len(left) <= half:
        return left, shorten(right, room - len(left), ellipsis)
    if len(right) <= half:
        return shorten(left, room - len(right), ellipsis), right
    return shorten(left, half, ellipsis), shorten(right, room - half, ellipsis)


def _note_line(note: Note, indent: str, style: Style) -> str:
    error = note.error or "an unrecorded error"
    reason = f"{error}: {note.cause}" if note.cause else error
    if note.kind == "retry":
        mark, colour = style.mark("retry"), "retry"
        text = f"retry {note.attempt} after {reason}"
        suffix = f" (waited {format_duration(note.waited)})"
    elif note.kind == "caught":
        mark, colour = style.mark("caught"), "caught"
        text = f"caught {reason}"
        suffix = f" {style.mark('arrow')} {note.target}" if note.target else ""
    else:
        mark, colour = style.mark("failed"), "failed"
        text = reason if note.error else "failed"
        suffix = ""
    room = max(style.width - len(indent) - len(mark) - 1 - len(suffix), 40)
    text = shorten(text, room, style.mark("ellipsis"))
    return f"{indent}{style.paint(mark, colour)} {style.paint(text + suffix, colour)}"


# --- branches and iterations ----------------------------------------------------------------


def _render_groups(
    groups: list[Group], state_type: str, depth: int, style: Style, lines: list[str]
) -> None:
    """One attempt's groups: the first ``max_groups``, then only those that did not succeed."""
    hidden = 0
    for position, group in enumerate(groups):
        if position >= style.max_groups and group.status == "succeeded":
            hidden += 1
        else:
            _render_group(group, depth, style, lines)
    if hidden:
        noun = "iterations" if state_type == "Map" else "branches"
        lines.append(
            "  " * depth
            + style.paint(f"{style.mark('ellipsis')} {hidden} more {noun} succeeded", "dim")
        )


def _render_group(group: Group, depth: int, style: Style, lines: list[str]) -> None:
    indent = "  " * depth
    label = style.paint(group.label, "bold")
    if group.status in ("failed", "aborted"):
        label += " " + style.paint(group.status, "failed")
    lines.append(f"{indent}{label}")
    for run in group.runs:
        _render_run(run, depth + 1, style, lines)
