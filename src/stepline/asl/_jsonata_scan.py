"""A lexical scan of a JSONata expression: the variables it reads, and renames for the engine.

The engines do not say which ``$name`` variables an expression reads, and the validator needs
that for AWS's "variable used before assignment" check. A full parse is not needed for it: one
pass over the tokens, skipping string literals, backtick names, comments and regular
expressions, finds every ``$name``. A name the expression binds itself (``$x := …`` or a
``function($x)`` parameter) is not free. The scan errs on the side of reporting fewer names: a
name bound anywhere in the expression is treated as bound everywhere in it, so the validator
never reports a variable the expression defines for itself.

The lexical helpers (:func:`skip_space`, :func:`skip_quoted`, :func:`skip_regex`,
:func:`read_name`) are shared with the validator's walk in ``_validate_jsonata_refs``.

The same pass renames the two built-ins Step Functions changes (see
:data:`RENAMED_FUNCTIONS`), because jsonata2py resolves built-in names when it compiles and a
binding cannot replace them. Renaming keeps the engines interchangeable: both see the same
text. :meth:`Scan.original_position` maps a parser position in the renamed text back to the
text the author wrote.

For the same reason, a workflow variable named like a built-in function (``count``, ``sum``,
``partition``) cannot shadow it on jsonata2py, while in JSONata (jsonata-js looks a name up in
the evaluation's bindings before the function library) it must. The scan reports which
built-in names an expression mentions (:attr:`Scan.function_names`), and a scan with
``shadowed`` names renames every ``$name`` token of those names to :func:`shadow_alias`, a name
no workflow variable can have; the seam binds the alias to the variable's value. Renaming every
token of a name, declarations (``function($count)``, ``$count := 3``) included, is a
consistent renaming of one variable, so JSONata's scoping is unchanged: a lambda parameter or a
block-local assignment still hides the outer value inside its scope.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

__all__ = [
    "BUILTIN_FUNCTIONS",
    "FUNCTION_WORDS",
    "NAME_STOPS",
    "OPERATOR_WORDS",
    "RENAMED_FUNCTIONS",
    "SHADOW_PREFIX",
    "Scan",
    "read_name",
    "scan",
    "shadow_alias",
    "skip_quoted",
    "skip_regex",
    "skip_space",
]

RENAMED_FUNCTIONS: Final = {"random": "__stepline_random", "eval": "__stepline_eval"}
"""Built-ins that Step Functions replaces (``$random`` takes a seed) or removes (``$eval``).

``$eval`` is renamed to a name nothing binds, so calling it fails the way AWS's does (T1006,
"Attempted to invoke a non-function"); ``$random`` is renamed to the seedable version.
"""

BUILTIN_FUNCTIONS: Final = frozenset(
    {
        # JSONata 2.0 function library (string, numeric, aggregation, boolean, array, object,
        # date/time, higher-order).
        "string", "length", "substring", "substringBefore", "substringAfter", "uppercase",
        "lowercase", "trim", "pad", "contains", "split", "join", "match", "replace", "eval",
        "base64encode", "base64decode", "encodeUrlComponent", "encodeUrl", "decodeUrlComponent",
        "decodeUrl", "formatNumber", "formatBase", "formatInteger", "parseInteger", "number",
        "abs", "floor", "ceil", "round", "power", "sqrt", "random", "sum", "max", "min",
        "average", "count", "boolean", "not", "exists", "append", "sort", "reverse", "shuffle",
        "distinct", "zip", "keys", "lookup", "spread", "merge", "sift", "each", "error",
        "assert", "type", "now", "millis", "fromMillis", "toMillis", "map", "filter", "single",
        "reduce", "clone",
        # Added by Step Functions.
        "partition", "range", "hash", "uuid", "parse",
    }
)  # fmt: skip
"""Function names a ``$name`` may refer to without any variable being assigned."""

SHADOW_PREFIX: Final = "__stepline_var_"
"""Start of the alias of a variable that shadows a built-in function. A workflow variable name
starts with a letter (Unicode ID_Start, which excludes ``_``), so no variable has an alias's
name."""


def shadow_alias(name: str) -> str:
    """The alias of a shadowing variable: ``count`` becomes ``__stepline_var_count``."""
    return SHADOW_PREFIX + name


# Characters that end a name in the JSONata lexer (operators, brackets, quotes).
NAME_STOPS: Final = frozenset(".[]{}()?:;,@#&|*/%+-=<>!^~\"'`$")
# After these tokens an operand is expected, so a '/' opens a regular expression.
OPERATOR_WORDS: Final = frozenset({"and", "or", "in"})
FUNCTION_WORDS: Final = frozenset({"function", "λ"})


@dataclass(frozen=True, slots=True)
class Scan:
    """What one pass over an expression found.

    Attributes:
        free_variables: ``$name`` variables read but not bound by the expression itself, less
            the function library's names (``$sum``, ``$partition``). Includes ``states``.
        states_fields: The members read from ``$states`` (``input``, ``result``, …); ``"*"``
            when ``$states`` is used other than as ``$states.<name>``.
        renamed: The expression with :data:`RENAMED_FUNCTIONS` applied, and the shadowed
            names (see :func:`scan`) renamed to their :func:`shadow_alias`, for the engine.
        renames: ``(position, old_length, new_length)`` of each rename, in order.
        function_names: The :data:`BUILTIN_FUNCTIONS` names the expression mentions as
            ``$name`` tokens, whatever their role (call, value, parameter, assignment): the
            names a workflow variable of the same name would shadow.
    """

    free_variables: frozenset[str]
    states_fields: frozenset[str]
    renamed: str
    renames: tuple[tuple[int, int, int], ...]
    function_names: frozenset[str] = frozenset()

    def original_position(self, position: int) -> int:
        """Map a position in :attr:`renamed` back to the expression as written."""
        shift = 0
        for start, old, new in self.renames:
            renamed_start = start + shift
            if position < renamed_start:
                break
            if position < renamed_start + new:
                return start  # inside a renamed token: point at its start
            shift += new - old
        return max(position - shift, 0)


def skip_space(text: str, index: int) -> int:
    """Skip whitespace and ``/* */`` comments; an unterminated comment runs to the end."""
    length = len(text)
    while index < length:
        char = text[index]
        if char.isspace():
            index += 1
        elif text.startswith("/*", index):
            end = text.find("*/", index + 2)
            index = length if end < 0 else end + 2
        else:
            break
    return index


def skip_quoted(text: str, index: int, quote: str) -> int:
    """Return the index after the literal opening at ``index`` (escapes honoured)."""
    length = len(text)
    index += 1
    while index < length:
        char = text[index]
        if char == "\\" and quote != "`":
            index += 2
            continue
        index += 1
        if char == quote:
            break
    return min(index, length)


def skip_regex(text: str, index: int) -> int:
    """Return the index after the regular expression literal opening at ``index``."""
    index = skip_quoted(text, index, "/")
    while index < len(text) and text[index].isalpha():
        index += 1  # flags
    return index


def read_name(text: str, index: int) -> int:
    """Return the index after the name (field name or ``$``-less variable) at ``index``."""
    length = len(text)
    while index < length and text[index] not in NAME_STOPS and not text[index].isspace():
        index += 1
    return index


def scan(text: str, shadowed: frozenset[str] = frozenset()) -> Scan:
    """Scan ``text`` once; never raises (malformed input is the parser's to report).

    Args:
        text: The expression.
        shadowed: Built-in names bound to workflow variables for this evaluation: every
            ``$name`` token of these names is renamed to :func:`shadow_alias` in
            :attr:`Scan.renamed` (instead of any :data:`RENAMED_FUNCTIONS` replacement).
    """
    referenced: set[str] = set()
    functions: set[str] = set()
    bound: set[str] = set()
    states_fields: set[str] = set()
    pieces: list[str] = []
    renames: list[tuple[int, int, int]] = []
    copied = 0  # text[:copied] is already in pieces
    length = len(text)
    index = 0
    after_operand = False  # decides whether '/' divides or opens a regular expression
    expect_params = False  # just read `function` / `λ`
    param_depth = 0  # >0 while inside a lambda's parameter list
    depth = 0
    while True:
        index = skip_space(text, index)
        if index >= length:
            break
        char = text[index]
        if char in "\"'`":
            index = skip_quoted(text, index, char)
            after_operand, expect_params = True, False
        elif char == "/" and not after_operand:
            index = skip_regex(text, index)
            after_operand, expect_params = True, False
        elif char == "$":
            start = index
            if text.startswith("$$", index):
                index += 2  # the root context, not a variable
                after_operand, expect_params = True, False
                continue
            index = read_name(text, index + 1)
            name = text[start + 1 : index]
            after_operand, expect_params = True, False
            if not name:
                continue  # `$`, the context value
            if name in BUILTIN_FUNCTIONS:
                functions.add(name)
            replacement = shadow_alias(name) if name in shadowed else RENAMED_FUNCTIONS.get(name)
            if replacement is not None:
                pieces.append(text[copied : start + 1])
                pieces.append(replacement)
                copied = index
                renames.append((start + 1, len(name), len(replacement)))
            follow = skip_space(text, index)
            if param_depth or text.startswith(":=", follow):
                bound.add(name)
            else:
                referenced.add(name)
                if name == "states":
                    _note_states_member(text, follow, states_fields)
        elif char in "([{":
            if char == "(" and expect_params:
                param_depth = depth + 1
            depth += 1
            index += 1
            after_operand, expect_params = False, False
        elif char in ")]}":
            if param_depth and depth == param_depth:
                param_depth = 0
            depth = max(depth - 1, 0)
            index += 1
            after_operand, expect_params = True, False
        elif char in NAME_STOPS:
            index += 1
            after_operand, expect_params = False, False
        else:
            end = read_name(text, index)
            word = text[index:end]
            index = end
            after_operand = word not in OPERATOR_WORDS
            expect_params = word in FUNCTION_WORDS
    pieces.append(text[copied:])
    return Scan(
        free_variables=frozenset(referenced - bound - BUILTIN_FUNCTIONS),
        states_fields=frozenset(states_fields),
        renamed="".join(pieces) if renames else text,
        renames=tuple(renames),
        function_names=frozenset(functions),
    )


def _note_states_member(text: str, index: int, found: set[str]) -> None:
    """Record which member of ``$states`` is read at ``index`` (just after the name)."""
    if index < len(text) and text[index] == "." and not text.startswith("..", index):
        member_start = skip_space(text, index + 1)
        if member_start < len(text) and text[member_start] == "`":
            end = skip_quoted(text, member_start, "`")
            found.add(text[member_start + 1 : end - 1])
            return
        end = read_name(text, member_start)
        if end > member_start:
            found.add(text[member_start:end])
            return
    found.add("*")
