"""Fast paths for the JSONata expressions workflows write most, with the engine as the fallback.

Most expressions in a state machine are small: ``$states.input``, ``$states.input.order.id``,
``$merge([$states.input, {'done': true}])``, ``$states.input.i < 100``, ``{'id': $x.id}``. An
engine call costs a few microseconds for any of them (evaluation set-up, signature checks,
sequence handling), several times what the JSON work itself costs. :func:`compile_fast_path`
recognises a small subset of JSONata and compiles it to plain Python closures; the seam
(:mod:`stepline.asl._jsonata`) runs the closure and falls back to the engine whenever it
raises :class:`Fallback`.

The closures take the easy road only where JSONata's rules are simple, and fall back
everywhere else, so results and errors stay the engine's:

* The subset: literals (strings without escapes, integers below 2**53, ``true``, ``false``,
  ``null``); variable paths ``$name.field.field`` (names plain or back-quoted); object
  constructors with string keys; array constructors; ``$merge(<operand>)``; one comparison
  (``= != < <= > >=``) or arithmetic operator (``+ - * /``) between two operands. Anything
  else (comments, predicates, functions, precedence chains, ``$``, ``$$``…) gets no fast path.
* At run time the closure falls back when a value is *undefined* (a missing variable or
  member), when a path step meets anything but a plain ``dict`` (JSONata maps steps over
  arrays), when an operator meets anything but two numbers (or two strings, or scalars for
  ``=``/``!=``), when arithmetic is not finite, and when ``$merge`` is given anything but
  objects or is shadowed by a workflow variable named ``merge`` (no other function name
  reaches a fast path: the seam handles those shadowings, see :mod:`stepline.asl._jsonata`).
  Every error therefore comes from the engine, with the engine's code and message.
* What it reproduces: a path's last value is returned as it is (an array stays an array); an
  array constructor flattens array values of its non-constructor elements one level, and
  nests the arrays its constructor elements build; arithmetic is double arithmetic, an
  integral result an ``int``; ``=`` between a number and a boolean is false.

The property tests (``tests/unit/test_jsonata_fast.py``) check on random expressions and
inputs that a closure either falls back or agrees with both engines.
"""

from __future__ import annotations

import math
import operator
import re
from collections.abc import Callable, Mapping
from typing import Any, Final

from stepline.asl._jsonata_scan import BUILTIN_FUNCTIONS

__all__ = ["Fallback", "FastPath", "compile_fast_path"]

FastPath = Callable[[Mapping[str, Any]], Any]
"""``evaluate(bindings) -> value``; raises :class:`Fallback` to hand over to the engine."""


class Fallback(Exception):
    """The fast path does not apply to these values: evaluate with the engine instead."""


_TOKEN: Final = re.compile(
    r"""\s*(?:
        (?P<number>\d+(?![.\deE]))
      | (?P<string>'[^'\\\n]*'|"[^"\\\n]*")
      | (?P<variable>\$[A-Za-z_][A-Za-z0-9_]*)
      | (?P<name>[A-Za-z_][A-Za-z0-9_]*)
      | (?P<quoted>`[^`]+`)
      | (?P<symbol><=|>=|!=|[<>=+\-*/.,:{}\[\]()])
    )""",
    re.VERBOSE,
)
_KEYWORDS: Final = {"true": True, "false": False, "null": None}
_RESERVED: Final = frozenset({"and", "or", "in", "true", "false", "null", "function"})
_MAX_EXACT_INT: Final = 1 << 53
# jsonata2py reads integer literals of 16 digits and more as doubles (1000000000000000 becomes
# 1e15): such literals are left to the engine.
_MAX_FAST_LITERAL: Final = 10**15

_COMPARISONS: Final[Mapping[str, Callable[[Any, Any], bool]]] = {
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}
_ARITHMETIC: Final[Mapping[str, Callable[[float, float], float]]] = {
    "+": operator.add,
    "-": operator.sub,
    "*": operator.mul,
    "/": operator.truediv,
}

# What an operand compiles to: the closure, and whether it is an array constructor (whose
# array an enclosing array constructor nests rather than flattens).
_Operand = tuple[FastPath, bool]


class _NotInSubset(Exception):
    """The expression is outside the subset: no fast path."""


def compile_fast_path(text: str) -> FastPath | None:
    """Compile ``text`` (a JSONata expression) to a fast path, or ``None`` when it is outside
    the subset this module handles (the engine then evaluates it every time)."""
    if "/*" in text:
        return None
    tokens = _tokenize(text)
    if tokens is None:
        return None
    parser = _Parser(tokens)
    try:
        evaluate = parser.expression()
        if parser.position != len(tokens):
            return None
    except _NotInSubset:
        return None
    return evaluate[0]


def _tokenize(text: str) -> list[tuple[str, str]] | None:
    tokens: list[tuple[str, str]] = []
    position = 0
    end = len(text.rstrip())
    while position < end:
        match = _TOKEN.match(text, position)
        if match is None or match.end() == position:
            return None
        kind = match.lastgroup
        assert kind is not None
        tokens.append((kind, match.group(kind)))
        position = match.end()
    return tokens


class _Parser:
    """Recursive descent over the subset's tokens."""

    def __init__(self, tokens: list[tuple[str, str]]) -> None:
        self.tokens = tokens
        self.position = 0

    def _peek(self) -> tuple[str, str] | None:
        return self.tokens[self.position] if self.position < len(self.tokens) else None

    def _take(self) -> tuple[str, str]:
        token = self._peek()
        if token is None:
            raise _NotInSubset
        self.position += 1
        return token

    def _expect(self, symbol: str) -> None:
        if self._take() != ("symbol", symbol):
            raise _NotInSubset

    def _at(self, symbol: str) -> bool:
        return self._peek() == ("symbol", symbol)

    def expression(self) -> _Operand:
        left = self.operand()
        token = self._peek()
        if token is None or token[0] != "symbol" or token[1] not in _BINARY:
            return left
        self.position += 1
        right = self.operand()
        following = self._peek()
        if following is not None and following[0] == "symbol" and following[1] in _BINARY:
            raise _NotInSubset  # a chain: precedence and associativity stay the engine's
        return _BINARY[token[1]](left[0], right[0]), False

    def operand(self) -> _Operand:
        kind, value = self._take()
        if kind == "number":
            number = int(value)
            if number >= _MAX_FAST_LITERAL:
                raise _NotInSubset
            return _constant(number), False
        if kind == "string":
            return _constant(value[1:-1]), False
        if kind == "name" and value in _KEYWORDS:
            return _constant(_KEYWORDS[value]), False
        if kind == "variable":
            if value == "$merge" and self._at("("):
                self.position += 1
                argument = self.expression()
                self._expect(")")
                return _merge(argument[0]), False
            if value == "$states" and not self._at("."):
                raise _NotInSubset  # `$states` whole holds the lazily built context object
            if value[1:] in BUILTIN_FUNCTIONS:
                raise _NotInSubset  # a function value, or a variable shadowing one
            return self._path(value[1:]), False
        if (kind, value) == ("symbol", "{"):
            return self._object(), False
        if (kind, value) == ("symbol", "["):
            return self._array(), True
        raise _NotInSubset

    def _path(self, variable: str) -> FastPath:
        fields: list[str] = []
        while self._at("."):
            self.position += 1
            kind, value = self._take()
            if kind == "name" and value not in _RESERVED:
                fields.append(value)
            elif kind == "quoted":
                fields.append(value[1:-1])
            else:
                raise _NotInSubset
        if self._at("[") or self._at("("):
            raise _NotInSubset  # a predicate, index or call
        return _variable_path(variable, tuple(fields))

    def _object(self) -> FastPath:
        members: list[tuple[str, FastPath]] = []
        if self._at("}"):
            self.position += 1
            return _object_of(())
        while True:
            kind, key = self._take()
            if kind != "string":
                raise _NotInSubset
            self._expect(":")
            members.append((key[1:-1], self.expression()[0]))
            if self._at(","):
                self.position += 1
                continue
            self._expect("}")
            break
        if len({key for key, _ in members}) != len(members):
            raise _NotInSubset  # a duplicate key is the engine's error (D1009)
        return _object_of(tuple(members))

    def _array(self) -> FastPath:
        elements: list[_Operand] = []
        if self._at("]"):
            self.position += 1
            return _array_of(())
        while True:
            elements.append(self.expression())
            if self._at(","):
                self.position += 1
                continue
            self._expect("]")
            break
        if self._at("[") or self._at("."):
            raise _NotInSubset  # an array constructor with a predicate or a path after it
        return _array_of(tuple(elements))


# --- closures ------------------------------------------------------------------------------------


def _constant(value: Any) -> FastPath:
    def evaluate(bindings: Mapping[str, Any]) -> Any:
        return value

    return evaluate


def _variable_path(variable: str, fields: tuple[str, ...]) -> FastPath:

    if len(fields) == 1:  # `$states.input`, `$order.id`: the commonest shape, unrolled
        (only,) = fields

        def evaluate_one(bindings: Mapping[str, Any]) -> Any:
            try:
                value = bindings[variable]
            except KeyError:
                raise Fallback from None
            if type(value) is not dict:
                raise Fallback
            try:
                return value[only]
            except KeyError:
                raise Fallback from None

        return evaluate_one

    def evaluate(bindings: Mapping[str, Any]) -> Any:
        try:
            value = bindings[variable]
            for field in fields:
                if type(value) is not dict:
                    raise Fallback
                value = value[field]
        except KeyError:
            raise Fallback from None
        return value

    return evaluate


def _object_of(members: tuple[tuple[str, FastPath], ...]) -> FastPath:
    def evaluate(bindings: Mapping[str, Any]) -> Any:
        return {key: value(bindings) for key, value in members}

    return evaluate


def _array_of(elements: tuple[_Operand, ...]) -> FastPath:
    def evaluate(bindings: Mapping[str, Any]) -> Any:
        result: list[Any] = []
        for element, is_constructor in elements:
            value = element(bindings)
            if type(value) is list and not is_constructor:
                result.extend(value)  # JSONata flattens an array value one level
            else:
                result.append(value)
        return result

    return evaluate


def _merge(argument: FastPath) -> FastPath:

    def evaluate(bindings: Mapping[str, Any]) -> Any:
        if "merge" in bindings:  # a workflow variable named `merge` shadows the function
            raise Fallback
        value = argument(bindings)
        if type(value) is dict:
            return dict(value)
        if type(value) is not list:
            raise Fallback
        merged: dict[str, Any] = {}
        for item in value:
            if type(item) is not dict:
                raise Fallback
            merged.update(item)
        return merged

    return evaluate


def _is_number(value: Any) -> bool:
    kind = type(value)
    return kind is float or (kind is int and -_MAX_EXACT_INT < value < _MAX_EXACT_INT)


def _binary(combine: Callable[[Any, Any], Any]) -> Callable[[FastPath, FastPath], FastPath]:
    """An operator: evaluate both operands, then ``combine`` them (or raise ``Fallback``)."""

    def build(left: FastPath, right: FastPath) -> FastPath:
        def evaluate(bindings: Mapping[str, Any]) -> Any:
            return combine(left(bindings), right(bindings))

        return evaluate

    return build


def _comparison(symbol: str) -> Callable[[Any, Any], bool]:
    compare = _COMPARISONS[symbol]

    def combine(a: Any, b: Any) -> bool:
        if (_is_number(a) and _is_number(b)) or (type(a) is str and type(b) is str):
            return compare(a, b)
        raise Fallback

    return combine


_SCALARS: Final = frozenset({str, bool, type(None)})


def _equality(negate: bool) -> Callable[[Any, Any], bool]:
    def combine(a: Any, b: Any) -> bool:
        if _is_number(a):
            if _is_number(b):
                return bool(a != b) if negate else bool(a == b)
            if type(b) in _SCALARS:
                return negate  # a number never equals a string, boolean or null
            raise Fallback
        kind = type(a)
        if kind in _SCALARS and (type(b) in _SCALARS or _is_number(b)):
            same = kind is type(b) and a == b
            return not same if negate else same
        raise Fallback

    return combine


def _arithmetic(symbol: str) -> Callable[[Any, Any], Any]:
    apply = _ARITHMETIC[symbol]

    def combine(a: Any, b: Any) -> Any:
        if not (_is_number(a) and _is_number(b)):
            raise Fallback
        try:
            result = apply(float(a), float(b))  # JSONata's numbers are doubles
        except ZeroDivisionError:
            raise Fallback from None
        if not math.isfinite(result):
            raise Fallback
        return int(result) if result.is_integer() else result

    return combine


_BINARY: Final[Mapping[str, Callable[[FastPath, FastPath], FastPath]]] = {
    **{symbol: _binary(_comparison(symbol)) for symbol in _COMPARISONS},
    **{symbol: _binary(_arithmetic(symbol)) for symbol in _ARITHMETIC},
    "=": _binary(_equality(negate=False)),
    "!=": _binary(_equality(negate=True)),
}
