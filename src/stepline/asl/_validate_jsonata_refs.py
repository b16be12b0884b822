"""Which names a JSONata expression reads from the input document Step Functions does not give it.

A Step Functions expression is evaluated with no context item: data arrives only as
``$states`` and workflow variables. AWS therefore refuses, when the definition is created, an
expression that reads the context item at its top level: a bare field name (``phone``,
``total > 3``), ``$`` itself, or ``$$`` (``UNSUPPORTED_JSONATA_EXPRESSION: Reference to 'phone'
at the top level is not supported.``). The States Language puts it this way: an expression
"MUST NOT reference "$" or unqualified field names at the top level, but MAY reference "$" or
unqualified field names nested inside an expression".

What counts as the top level, as measured against AWS (and as JSONata evaluates it):

* The first step of a path reads the top level; every later step (``$x.name``), every
  predicate (``$x[name > 3]``), sort term (``$x^(name)``) and grouping (``$x{name: v}``) reads
  the value the path produced, so names there are fine.
* Operands of operators, function arguments, array and object constructors (keys included:
  ``{name: 1}`` reads ``name``), blocks, conditions and the right side of ``:=`` keep the
  context they are in.
* A lambda body keeps the context of the expression that defines it, so
  ``$map($states.input.a, function($v) { name })`` reads ``name`` at the top level.
* Transforms (``| … | … |``), wildcards and descendants never read the top level.

The engines do not expose a parse tree, so this is a lexical walk (on the token helpers of
``_jsonata_scan``) over a syntactically valid
expression (the caller compiles it first): a stack of bracketed frames, each knowing whether an
operand in it reads the top level. When the walk loses its footing (unbalanced brackets) it
reports nothing rather than risk refusing a valid definition.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final

from stepline.asl._jsonata_scan import (
    FUNCTION_WORDS,
    NAME_STOPS,
    OPERATOR_WORDS,
    read_name,
    skip_quoted,
    skip_regex,
    skip_space,
)

__all__ = ["top_level_references"]

_LITERAL_WORDS: Final = frozenset({"true", "false", "null"})
_NUMBER: Final = re.compile(r"\d+(?:\.\d+)?(?:[eE][+-]?\d+)?")
_TWO_CHAR_OPERATORS: Final = (":=", "!=", "<=", ">=", "~>", "?:", "??", "..")


@dataclass(slots=True)
class _Frame:
    """One open bracket: what closes it, and whether operands directly inside read the top."""

    closer: str
    root: bool
    kind: str = "group"  # "group", "params" (a lambda's parameters), "transform"
    step: bool = False  # opened as a path step (its value is not read against the top)
    bars: int = 0  # '|' seen inside a transform


class _Walk:
    """The state of one walk over an expression."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.found: dict[str, None] = {}
        self.frames = [_Frame("", root=True, kind="top")]
        self.expect_operand = True
        self.step_next = False  # the next operand is a path step (it follows a '.')
        self.last_step = False  # the operand just read was a path step
        self.lambda_state = 0  # 1: read `function`; 2: its parameters closed
        self.sort_pending = False  # read '^': the next '(' opens sort terms

    @property
    def reads_top(self) -> bool:
        """Whether an operand starting here is read against the top-level context."""
        return self.frames[-1].root and not self.step_next

    def operand(self) -> None:
        self.last_step = self.step_next
        self.expect_operand = False
        self.step_next = False

    def operator(self) -> None:
        self.expect_operand = True
        self.step_next = False

    def note(self, name: str) -> None:
        if self.reads_top:
            self.found.setdefault(name)

    def open(self, closer: str, root: bool, kind: str = "group") -> None:
        self.frames.append(_Frame(closer, root, kind, step=self.step_next))
        self.expect_operand = True
        self.step_next = False

    def close(self, closer: str) -> bool:
        frame = self.frames[-1]
        if frame.closer != closer or len(self.frames) == 1:
            return False
        self.frames.pop()
        self.expect_operand = False
        self.step_next = False
        self.last_step = frame.step
        if frame.kind == "params":
            self.lambda_state = 2
        return True


def top_level_references(text: str) -> list[str]:
    """The names ``text`` reads from the (absent) input document, distinct, in order.

    A field name is reported as itself, the context item as ``$`` and the root as ``$$``.
    ``text`` is expected to be a valid expression; for one that is not, the result is
    whatever the walk found before it lost its footing, or nothing.
    """
    walk = _Walk(text)
    index = 0
    length = len(text)
    while True:
        index = skip_space(text, index)
        if index >= length:
            break
        index = _step(walk, text, index)
        if index < 0:
            return []
    return list(walk.found) if len(walk.frames) == 1 else []


def _step(walk: _Walk, text: str, index: int) -> int:
    """Read one token at ``index``; return the index after it, or -1 when lost."""
    char = text[index]
    if walk.lambda_state == 2:
        walk.lambda_state = 0
        if char == "<":  # a signature: function($x)<n:n>{…}
            walk.lambda_state = 2
            return _skip_signature(text, index)
        if char == "{":
            # The body keeps the context of the expression the lambda is written in.
            walk.open("}", walk.frames[-1].root, "body")
            return index + 1
    if char in "\"'":
        walk.operand()
        return skip_quoted(text, index, char)
    if char == "`":
        end = skip_quoted(text, index, "`")
        if walk.expect_operand:
            walk.note(text[index + 1 : end - 1])
            walk.operand()
        return end
    if char == "$":
        return _variable(walk, text, index)
    if char in "([{":
        return _opening(walk, char, index)
    if char in ")]}":
        return index + 1 if walk.close(char) else -1
    if char == "|":
        return _bar(walk, index)
    if char == ".":
        if text.startswith("..", index):
            walk.operator()
            return index + 2
        walk.expect_operand = True
        walk.step_next = True
        return index + 1
    if walk.expect_operand:
        if char == "/":
            walk.operand()
            return skip_regex(text, index)
        number = _NUMBER.match(text, index)
        if number is not None:
            walk.operand()
            return number.end()
        if char in "*%?":  # wildcard, descendant, parent, partial-application placeholder
            walk.operand()
            return index + (2 if text.startswith("**", index) else 1)
        if char == "-":  # unary minus
            return index + 1
    if char == "^":
        walk.sort_pending = True
        return index + 1
    for operator in _TWO_CHAR_OPERATORS:
        if text.startswith(operator, index):
            walk.operator()
            return index + 2
    if char in NAME_STOPS:
        walk.operator()
        return index + 1
    return _word(walk, text, index)


def _variable(walk: _Walk, text: str, index: int) -> int:
    if text.startswith("$$", index):
        if walk.expect_operand:
            walk.note("$$")
            walk.operand()
        return index + 2
    end = read_name(text, index + 1)
    if walk.expect_operand:
        if end == index + 1:
            walk.note("$")
        walk.operand()
    return end


def _opening(walk: _Walk, char: str, index: int) -> int:
    closer = {"(": ")", "[": "]", "{": "}"}[char]
    if walk.expect_operand:
        if char == "(" and walk.lambda_state == 1:
            walk.lambda_state = 0
            walk.open(")", False, "params")
        else:  # a block, an array or an object constructor: same context as here
            walk.open(closer, walk.reads_top)
        return index + 1
    frame = walk.frames[-1]
    if char == "(" and not walk.sort_pending:
        # Function arguments are read in the context of the call itself.
        walk.open(")", frame.root and not walk.last_step)
    else:  # sort terms, a predicate, a grouping: read against the path's own values
        walk.open(closer, False)
    walk.sort_pending = False
    return index + 1


def _bar(walk: _Walk, index: int) -> int:
    frame = walk.frames[-1]
    if frame.kind == "transform":
        frame.bars += 1
        if frame.bars == 2:
            walk.frames.pop()
            walk.operand()
        else:
            walk.operator()
    elif walk.expect_operand:
        walk.open("|", False, "transform")
    else:
        walk.operator()
    return index + 1


def _word(walk: _Walk, text: str, index: int) -> int:
    end = read_name(text, index)
    if end == index:  # a character no rule covers: step over it
        walk.operator()
        return index + 1
    word = text[index:end]
    if not walk.expect_operand:
        if word in OPERATOR_WORDS:
            walk.operator()
        return end
    if walk.step_next or word in _LITERAL_WORDS:
        walk.operand()
    elif word in FUNCTION_WORDS:
        walk.lambda_state = 1
    else:
        walk.note(word)
        walk.operand()
    return end


def _skip_signature(text: str, index: int) -> int:
    """Return the index after a lambda signature ``<…>`` (which may nest ``<…>``)."""
    depth = 0
    length = len(text)
    while index < length:
        char = text[index]
        index += 1
        if char == "<":
            depth += 1
        elif char == ">":
            depth -= 1
            if depth == 0:
                break
    return index
