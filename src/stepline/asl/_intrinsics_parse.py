"""The front end of ASL intrinsic functions (JSONPath mode): syntax and signatures.

An intrinsic is written as the value of a ``"key.$"`` field, for example
``States.Format('{} has {} items', $.name, States.ArrayLength($.items))``. Its arguments are:

* string literals in single quotes, where ``\\'``, ``\\{``, ``\\}`` and ``\\\\`` stand for
  ``'``, ``{``, ``}`` and ``\\`` (any other backslash is an error, as on AWS);
* numbers (``3``, ``-1``, ``2.5``, ``1e3``), ``true``, ``false`` and ``null``;
* JSONPaths (``$``, ``$.a.b``, ``$.a[0]``, ``$$.Execution.Id``, or any JSONPath query);
* nested intrinsic calls.

This module parses a call into a small syntax tree and holds every function's signature: its
argument count and the check each argument must pass. The checks run at compile time on literal
arguments and at run time on everything else, so both report the same problem the same way;
:mod:`stepline.asl._intrinsics` supplies what the functions do and compiles the tree.

The parser runs once per definition and never at run time. Paths are compiled here with
:func:`~stepline.asl._paths.compile_path`, so evaluation only walks already-split keys. String
literals also keep the position of every unescaped ``{}``, because ``States.Format`` must tell a
placeholder from an escaped ``\\{\\}`` and that distinction is gone once the escapes are resolved.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final, NoReturn

from stepline.asl._errors import DefinitionError
from stepline.asl._json import dumps_text, json_type
from stepline.asl._paths import CompiledPath, compile_path

__all__ = [
    "HASH_ALGORITHMS",
    "INT32_MAX",
    "INT32_MIN",
    "INVALID_INTRINSIC",
    "MAX_NESTING",
    "PLACEHOLDER",
    "SIGNATURES",
    "TEXT_LIMIT",
    "ArgumentError",
    "Call",
    "Check",
    "Literal",
    "Node",
    "PathArg",
    "Signature",
    "TemplatePart",
    "argument_problem",
    "describe",
    "is_intrinsic",
    "java_round",
    "parse_intrinsic",
]

INVALID_INTRINSIC: Final = "INVALID_INTRINSIC"
"""Diagnostic code of every :class:`DefinitionError` raised for an intrinsic call."""

MAX_NESTING: Final = 10
"""AWS allows intrinsic calls nested up to 10 deep within one field."""

INT32_MIN: Final = -2_147_483_648
INT32_MAX: Final = 2_147_483_647
TEXT_LIMIT: Final = 10_000
"""AWS's limit, in characters, on the input of Base64Encode, Base64Decode and Hash."""

HASH_ALGORITHMS: Final = {"MD5": "md5", "SHA-1": "sha1", "SHA-256": "sha256",
                          "SHA-384": "sha384", "SHA-512": "sha512"}  # fmt: skip
"""States.Hash algorithm names (case-sensitive) and their :mod:`hashlib` names."""

Check = Callable[[Any], Any]
"""An argument check: returns the (possibly converted) value or raises :class:`ArgumentError`."""


class _Placeholder:
    """Marker for an unescaped ``{}`` in a ``States.Format`` template."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "PLACEHOLDER"


PLACEHOLDER: Final = _Placeholder()

TemplatePart = str | _Placeholder
"""A piece of a format template: literal text, or :data:`PLACEHOLDER`."""


@dataclass(frozen=True, slots=True)
class Literal:
    """A literal argument.

    Attributes:
        value: The JSON value: ``str``, ``int``, ``float``, ``bool`` or ``None``.
        template: For string literals, the text split at each unescaped ``{}``; else ``None``.
    """

    value: Any
    template: tuple[TemplatePart, ...] | None = None


@dataclass(frozen=True, slots=True)
class PathArg:
    """A JSONPath argument, compiled once.

    Attributes:
        text: The path as written, e.g. ``$.order.id``.
        path: The compiled path; ``path.evaluate`` returns ``MISSING`` when nothing matches.
    """

    text: str
    path: CompiledPath


@dataclass(frozen=True, slots=True)
class Call:
    """An intrinsic call such as ``States.ArrayLength($.items)``.

    Attributes:
        name: The full function name, e.g. ``States.ArrayLength``.
        args: The arguments, in order.
        source: The call exactly as written in the definition.
    """

    name: str
    args: tuple[Node, ...]
    source: str


Node = Literal | PathArg | Call


class ArgumentError(Exception):
    """An argument or data problem; becomes ``States.IntrinsicFailure`` or a DefinitionError."""

    __slots__ = ("detail",)

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


# --- argument checks: shared by compile time (literals) and run time -----------------------------


def describe(value: Any) -> str:
    """``a string ("abc")``: type and a short JSON excerpt of a value, for messages."""
    if value is None:
        return "null"
    kind = json_type(value)
    try:
        shown = dumps_text(value)
    except Exception:  # a non-JSON value from a caller: still say something useful
        shown = repr(value)
    if len(shown) > 60:
        shown = shown[:57] + "..."
    article = "an" if kind[0] in "aeiou" else "a"
    return f"{article} {kind} ({shown})"


def check_array(value: Any) -> Any:
    """Accept a JSON array."""
    if type(value) is list:
        return value
    raise ArgumentError(f"must be an array, but it is {describe(value)}")


def check_object(value: Any) -> Any:
    """Accept a JSON object."""
    if type(value) is dict:
        return value
    raise ArgumentError(f"must be a JSON object, but it is {describe(value)}")


def check_string(value: Any) -> Any:
    """Accept a string."""
    if type(value) is str:
        return value
    raise ArgumentError(f"must be a string, but it is {describe(value)}")


def check_text(value: Any) -> Any:
    """Accept a string within AWS's 10,000-character limit."""
    check_string(value)
    if len(value) > TEXT_LIMIT:
        raise ArgumentError(
            f"must be a string of at most {TEXT_LIMIT:,} characters (the AWS limit), but it "
            f"has {len(value):,}"
        )
    return value


def check_number(value: Any) -> int | float:
    """Accept a finite number (``true`` is not ``1``)."""
    kind = type(value)
    if kind is int:
        return value  # type: ignore[no-any-return]
    if kind is float and math.isfinite(value):
        return value  # type: ignore[no-any-return]
    raise ArgumentError(f"must be a number, but it is {describe(value)}")


def java_round(number: int | float) -> int:
    """Round like Java's ``Math.round``: to the nearest integer, halves towards +infinity."""
    if type(number) is int:
        return number
    floor = math.floor(number)
    return floor + 1 if number - floor >= 0.5 else floor


def check_integer(value: Any) -> int:
    """Accept a number, rounded to an integer as AWS documents."""
    return java_round(check_number(value))


def check_chunk_size(value: Any) -> int:
    """Accept a number that rounds to 1 or more."""
    number = check_integer(value)
    if number > 0:
        return number
    raise ArgumentError(f"is the chunk size and must be 1 or more, but it is {number}")


def check_step(value: Any) -> int:
    """Accept a number that does not round to 0."""
    number = check_integer(value)
    if number:
        return number
    raise ArgumentError("is the step and must not be 0; pass e.g. 1 or -1")


def check_int32(value: Any) -> int:
    """Accept a number that rounds to a 32-bit integer (States.MathAdd's documented range)."""
    number = check_integer(value)
    if INT32_MIN <= number <= INT32_MAX:
        return number
    raise ArgumentError(f"must be between {INT32_MIN} and {INT32_MAX}, but it is {number}")


def check_index(value: Any) -> int:
    """Accept a whole number (``2`` or ``2.0``) as an array index."""
    number = check_number(value)
    if type(number) is float and not number.is_integer():
        raise ArgumentError(f"must be a whole number, but it is {number!r}")
    return int(number)


def check_algorithm(value: Any) -> str:
    """Accept an AWS hash algorithm name; return its :mod:`hashlib` name."""
    check_string(value)
    name = HASH_ALGORITHMS.get(value)
    if name is None:
        raise ArgumentError(
            f"must name a hash algorithm, one of {', '.join(HASH_ALGORITHMS)} (case-sensitive), "
            f"but it is {describe(value)}"
        )
    return name


def check_shallow(value: Any) -> bool:
    """Accept only ``false``: AWS supports shallow JSON merges only."""
    if value is False:
        return False
    if value is True:
        raise ArgumentError(
            "must be false: Step Functions only merges shallowly (deep merging is not "
            "supported), so write false"
        )
    raise ArgumentError(f"must be the boolean false, but it is {describe(value)}")


@dataclass(frozen=True, slots=True)
class Signature:
    """What one intrinsic accepts.

    ``checks[i]`` validates and converts argument ``i`` (``None``: any JSON value); the last
    entry repeats for variadic functions. ``pure`` calls with only literal arguments are
    evaluated at compile time.
    """

    name: str
    usage: str
    minimum: int
    maximum: int | None
    checks: tuple[Check | None, ...]
    pure: bool = True

    def check(self, index: int) -> Check | None:
        """The check for argument ``index`` (the last one repeats), or ``None``."""
        if not self.checks:
            return None
        return self.checks[index] if index < len(self.checks) else self.checks[-1]


SIGNATURES: Final = {
    signature.name: signature
    for signature in (
        Signature("States.Format", "States.Format('text with {}', value, ...)", 1, None, ()),
        Signature("States.StringToJson", "States.StringToJson(string)", 1, 1, (check_string,)),
        Signature("States.JsonToString", "States.JsonToString(value)", 1, 1, (None,)),
        Signature("States.Array", "States.Array(value, ...)", 0, None, (None,)),
        Signature("States.ArrayPartition", "States.ArrayPartition(array, chunkSize)", 2, 2,
                  (check_array, check_chunk_size)),
        Signature("States.ArrayContains", "States.ArrayContains(array, value)", 2, 2,
                  (check_array, None)),
        Signature("States.ArrayRange", "States.ArrayRange(first, last, step)", 3, 3,
                  (check_integer, check_integer, check_step)),
        Signature("States.ArrayGetItem", "States.ArrayGetItem(array, index)", 2, 2,
                  (check_array, check_index)),
        Signature("States.ArrayLength", "States.ArrayLength(array)", 1, 1, (check_array,)),
        Signature("States.ArrayUnique", "States.ArrayUnique(array)", 1, 1, (check_array,)),
        Signature("States.Base64Encode", "States.Base64Encode(string)", 1, 1, (check_text,)),
        Signature("States.Base64Decode", "States.Base64Decode(base64String)", 1, 1,
                  (check_text,)),
        Signature("States.Hash", "States.Hash(string, 'SHA-256')", 2, 2,
                  (check_text, check_algorithm)),
        Signature("States.JsonMerge", "States.JsonMerge(object1, object2, false)", 3, 3,
                  (check_object, check_object, check_shallow)),
        Signature("States.MathRandom", "States.MathRandom(start, end) or (start, end, seed)",
                  2, 3, (check_integer,), pure=False),
        Signature("States.MathAdd", "States.MathAdd(value, step)", 2, 2,
                  (check_int32, check_int32)),
        Signature("States.StringSplit", "States.StringSplit(string, delimiters)", 2, 2,
                  (check_string, check_string)),
        Signature("States.UUID", "States.UUID()", 0, 0, (), pure=False),
    )
}  # fmt: skip
"""Every intrinsic AWS defines, by name."""


def _ordinal(index: int) -> str:
    """``0`` -> ``1st``: argument positions as people count them."""
    number = index + 1
    return {1: "1st", 2: "2nd", 3: "3rd"}.get(number, f"{number}th")


def argument_problem(spec: Signature, index: int, detail: str) -> str:
    """Say which argument of which function failed its check, and how the call is written."""
    return f"the {_ordinal(index)} argument of {spec.name} {detail}. Usage: {spec.usage}"


# --- parsing -------------------------------------------------------------------------------------

# Compile-time only: deciding whether a "key.$" value is an intrinsic or a path.
_INTRINSIC_START = re.compile(r"States\.[A-Za-z0-9_]+\s*\(")
_NAME_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_")
_ESCAPABLE = frozenset("'{}\\")
_NUMBER = re.compile(r"-?[0-9]+(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?")
_WHITESPACE = frozenset(" \t\r\n")


def is_intrinsic(text: str) -> bool:
    """Whether ``text`` is an intrinsic call: ``States.<Name>(`` at its very start.

    Args:
        text: The value of a ``"key.$"`` field (or of ``ErrorPath`` / ``CausePath``).

    Returns:
        True for ``States.Format(...)`` and friends; False for paths and anything else.
    """
    return isinstance(text, str) and _INTRINSIC_START.match(text) is not None


def parse_intrinsic(text: str) -> Call:
    """Parse an intrinsic call into a :class:`Call` tree, compiling every path argument.

    Args:
        text: The call as written, e.g. ``States.MathAdd($.i, 1)``.

    Returns:
        The top-level call. Function names are not checked here; the compiler does that.

    Raises:
        DefinitionError: With code ``INVALID_INTRINSIC`` for any syntax error.
    """
    parser = _Parser(text)
    parser.skip_space()
    call = parser.call(1)
    parser.skip_space()
    if parser.pos < len(text):
        parser.fail(
            "unexpected text after the closing ')'",
            "An intrinsic field holds exactly one call; remove what follows it.",
        )
    return call


class _Parser:
    """A recursive-descent parser over one call's text (recursion bounded by MAX_NESTING)."""

    __slots__ = ("pos", "text")

    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0

    def fail(self, what: str, hint: str) -> NoReturn:
        """Raise a DefinitionError that points at the current position."""
        shown = self.text if len(self.text) <= 200 else self.text[:197] + "..."
        raise DefinitionError(
            f"The intrinsic function call {shown!r} is invalid at character {self.pos + 1}: "
            f"{what}. {hint}",
            INVALID_INTRINSIC,
        )

    def skip_space(self) -> None:
        text = self.text
        pos = self.pos
        while pos < len(text) and text[pos] in _WHITESPACE:
            pos += 1
        self.pos = pos

    def call(self, depth: int) -> Call:
        text = self.text
        start = self.pos
        if depth > MAX_NESTING:
            self.fail(
                f"intrinsic calls are nested more than {MAX_NESTING} deep",
                "AWS allows at most 10 levels; split the work over more than one state.",
            )
        if not text.startswith("States.", start):
            self.fail(
                "expected an intrinsic function name such as 'States.Format'",
                "Every call starts with 'States.' followed by the function name.",
            )
        pos = start + len("States.")
        while pos < len(text) and text[pos] in _NAME_CHARS:
            pos += 1
        name = text[start:pos]
        if pos == start + len("States."):
            self.pos = pos
            self.fail("the function name after 'States.' is missing", "Write e.g. 'States.Array('.")
        self.pos = pos
        self.skip_space()
        if self.pos >= len(text) or text[self.pos] != "(":
            self.fail(f"expected '(' after {name!r}", f"Write {name}(...) with the arguments.")
        self.pos += 1
        args: list[Node] = []
        self.skip_space()
        if self.pos < len(text) and text[self.pos] == ")":
            self.pos += 1
            return Call(name, (), text[start : self.pos])
        while True:
            args.append(self.argument(depth))
            self.skip_space()
            if self.pos >= len(text):
                self.fail(
                    f"the argument list of {name} is not closed",
                    "Add the missing ')' (string literals need a closing quote too).",
                )
            char = text[self.pos]
            self.pos += 1
            if char == ")":
                return Call(name, tuple(args), text[start : self.pos])
            if char != ",":
                self.pos -= 1
                self.fail(
                    f"expected ',' or ')' after an argument of {name}, found {char!r}",
                    "Separate arguments with commas; quote text as a 'string literal'.",
                )
            self.skip_space()

    def argument(self, depth: int) -> Node:
        text = self.text
        if self.pos >= len(text):
            self.fail("an argument is missing", "Remove the trailing ',' or add the argument.")
        char = text[self.pos]
        if char == "'":
            return self.string()
        if char == "$":
            return self.path()
        if char == "-" or char.isdigit():
            return self.number()
        if text.startswith("States.", self.pos):
            return self.call(depth + 1)
        for word, value in (("true", True), ("false", False), ("null", None)):
            end = self.pos + len(word)
            if text.startswith(word, self.pos) and (
                end >= len(text) or text[end] not in _NAME_CHARS
            ):
                self.pos = end
                return Literal(value)
        if char in ",)":
            self.fail("an argument is missing", "Remove the extra ',' or add the argument.")
        self.fail(
            f"unexpected {char!r} where an argument should start",
            "An argument is a 'quoted string', a number, true, false, null, a path starting "
            "with '$', or another States.* call.",
        )

    def string(self) -> Literal:
        text = self.text
        pos = self.pos + 1
        value: list[str] = []
        chunk: list[str] = []
        parts: list[TemplatePart] = []
        while True:
            if pos >= len(text):
                self.fail(
                    "a string literal is not closed",
                    "End it with a single quote; write \\' for a quote inside the string.",
                )
            char = text[pos]
            if char == "\\":
                escaped = text[pos + 1] if pos + 1 < len(text) else ""
                if escaped not in _ESCAPABLE:
                    self.pos = pos
                    self.fail(
                        "a backslash that does not escape ', {, } or \\",
                        "Write \\\\ for a literal backslash (\\\\\\\\ inside the JSON string).",
                    )
                value.append(escaped)
                chunk.append(escaped)
                pos += 2
            elif char == "'":
                pos += 1
                break
            elif char == "{" and pos + 1 < len(text) and text[pos + 1] == "}":
                value.append("{}")
                if chunk:
                    parts.append("".join(chunk))
                    chunk = []
                parts.append(PLACEHOLDER)
                pos += 2
            else:
                value.append(char)
                chunk.append(char)
                pos += 1
        if chunk:
            parts.append("".join(chunk))
        self.pos = pos
        return Literal("".join(value), tuple(parts))

    def number(self) -> Literal:
        match = _NUMBER.match(self.text, self.pos)
        if match is None:
            self.fail("expected a number after '-'", "Write a number such as -1 or -2.5.")
        literal = match.group()
        self.pos = match.end()
        if "." in literal or "e" in literal or "E" in literal:
            number = float(literal)
            if number in (float("inf"), float("-inf")):
                self.pos = match.start()
                self.fail(f"the number {literal} is too large", "Use a finite number.")
            return Literal(number)
        return Literal(int(literal))

    def path(self) -> PathArg:
        """Read a path up to the ',' or ')' that ends the argument.

        Commas and parentheses inside brackets (``$['a,b']``, filters ``[?(@.x)]``), inside
        quotes, or in a trailing ``.length()`` belong to the path.
        """
        text = self.text
        start = self.pos
        pos = start
        brackets = 0
        parens = 0
        quote = ""
        while pos < len(text):
            char = text[pos]
            if quote:
                if char == "\\":
                    pos += 1
                elif char == quote:
                    quote = ""
            elif char in "'\"" and brackets:
                quote = char
            elif char == "[":
                brackets += 1
            elif char == "]":
                brackets -= 1
            elif char == "(":
                parens += 1
            elif char == ")":
                if not parens and not brackets:
                    break
                parens -= 1
            elif char == "," and not parens and not brackets:
                break
            pos += 1
        pos = min(pos, len(text))  # a backslash may have skipped past the end
        end = pos
        while end > start and text[end - 1] in _WHITESPACE:
            end -= 1
        path_text = text[start:end]
        try:
            compiled = compile_path(path_text)
        except DefinitionError as exc:
            reason = exc.message.rstrip(".")
            self.fail(f"the path {path_text!r} is not valid ({reason})", "Fix the path.")
        except Exception as exc:  # the JSONPath library may raise anything on odd text
            self.fail(
                f"the path {path_text!r} is not valid ({type(exc).__name__})", "Fix the path."
            )
        self.pos = pos
        return PathArg(path_text, compiled)
