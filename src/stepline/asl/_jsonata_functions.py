"""The JSONata functions Step Functions adds: ``$partition``, ``$range``, ``$hash``, ``$random``,
``$uuid`` and ``$parse``.

Each function takes its arguments as a list of plain Python values and returns a JSON value,
so the same code serves every engine; the engine adapters in :mod:`stepline.asl._jsonata`
translate the engines' calling conventions. An argument the expression left undefined arrives
as :data:`UNDEFINED`, and returning :data:`UNDEFINED` means "no result".

What AWS documents (Transforming data with JSONata in Step Functions): the six names and their
purpose; ``$hash`` accepts ``MD5``, ``SHA-1``, ``SHA-256``, ``SHA-384`` and ``SHA-512``;
``$random`` returns ``0 <= n < 1`` and takes an optional seed, the same seed giving the same
number; ``$uuid`` returns a v4 UUID; integer parameters given a non-integer number are rounded
down. What was observed on AWS and reproduced here: ``$range(0, 6, 2)`` is ``[0, 2, 4, 6]``
(the end is included when a step lands on it), ``$random(42)`` is ``0.7275636800328681``, the
first number of ``java.util.Random`` seeded with 42. The error texts are stepline's own: AWS's
are not known.
"""

from __future__ import annotations

import hashlib
import json
import math
import random
import uuid
from collections.abc import Callable
from typing import Any, Final

__all__ = ["AWS_FUNCTIONS", "RANGE_LIMIT", "UNDEFINED", "FunctionError", "java_random_double"]


class _Undefined:
    """JSONata's ``undefined``: no value at all, unlike JSON ``null``."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "UNDEFINED"

    def __bool__(self) -> bool:
        return False

    def __reduce__(self) -> str:
        return "UNDEFINED"  # unpickles to the module's singleton


UNDEFINED: Final = _Undefined()
"""The result of an expression that returns nothing (``$states.input.missing``)."""

RANGE_LIMIT: Final = 10_000_000
"""Most items ``$range`` makes; JSONata's own range operator (``[1..n]``) has the same limit."""

_HASHES: Final = {"MD5": "md5", "SHA-1": "sha1", "SHA-256": "sha256",
                  "SHA-384": "sha384", "SHA-512": "sha512"}  # fmt: skip
_INT64: Final = 1 << 63
_JAVA_MULTIPLIER: Final = 0x5DEECE66D
_JAVA_MASK: Final = (1 << 48) - 1
_RANDOM = random.Random()  # not for secrets: AWS documents $random as a plain PRNG


class FunctionError(Exception):
    """A Step Functions JSONata function was called wrongly; the message is the cause's tail.

    Args:
        message: What was wrong and what to pass instead.
    """

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def _describe(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return f"the boolean {str(value).lower()}"
    if isinstance(value, int | float):
        return f"the number {value!r}"
    if isinstance(value, str):
        shown = value if len(value) <= 40 else value[:37] + "..."
        return f"the string {json.dumps(shown)}"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "an object"
    return "a function"


def _arity(name: str, args: list[Any], least: int, most: int, usage: str) -> None:
    if least <= len(args) <= most:
        return
    if least == most:
        wanted = f"{least} argument{'s' if least != 1 else ''}" if least else "no arguments"
    else:
        wanted = f"{least} to {most} arguments"
    raise FunctionError(f"${name} takes {wanted} but got {len(args)}; call it as {usage}")


def _integer(name: str, what: str, value: Any) -> int:
    """An integer parameter: a number, rounded down when it has a fraction (as AWS documents)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        shown = "nothing (undefined)" if value is UNDEFINED else _describe(value)
        raise FunctionError(f"The {what} of ${name} must be a number, but it is {shown}")
    if isinstance(value, float):
        if not math.isfinite(value):
            raise FunctionError(f"The {what} of ${name} must be a finite number")
        return math.floor(value)
    return value


def _partition(args: list[Any]) -> Any:
    _arity("partition", args, 2, 2, "$partition(array, chunkSize)")
    items, size_arg = args
    if items is UNDEFINED or items is None:
        return UNDEFINED
    size = _integer("partition", "chunk size", size_arg)
    if size < 1:
        raise FunctionError(
            f"The chunk size of $partition must be at least 1, but it is {size_arg!r}"
        )
    if not isinstance(items, list):
        items = [items]  # JSONata treats a single value as an array of one, as in `<a>`
    return [items[start : start + size] for start in range(0, len(items), size)]


def _range(args: list[Any]) -> Any:
    _arity("range", args, 3, 3, "$range(start, end, step)")
    first = _integer("range", "start", args[0])
    last = _integer("range", "end", args[1])
    step = _integer("range", "step", args[2])
    if step == 0:
        raise FunctionError("The step of $range must not be 0")
    count = max((last - first) // step + 1, 0)
    if count > RANGE_LIMIT:
        raise FunctionError(
            f"$range({first}, {last}, {step}) would make {count:,} items, more than the limit "
            f"of {RANGE_LIMIT:,}; use a larger step or a shorter range"
        )
    return list(range(first, first + count * step, step))


def _hash(args: list[Any]) -> Any:
    _arity("hash", args, 2, 2, "$hash(value, 'SHA-256')")
    data, algorithm = args
    if data is UNDEFINED or data is None:
        return UNDEFINED
    if not isinstance(data, str):
        raise FunctionError(
            f"The value $hash hashes must be a string, but it is {_describe(data)}; convert "
            "it first, e.g. $hash($string(value), 'SHA-256')"
        )
    name = _HASHES.get(algorithm) if isinstance(algorithm, str) else None
    if name is None:
        shown = json.dumps(algorithm) if isinstance(algorithm, str) else _describe(algorithm)
        raise FunctionError(
            f"$hash does not support the algorithm {shown}; use one of "
            f"{', '.join(repr(known) for known in _HASHES)} (names are case-sensitive)"
        )
    # Lone surrogates become '?', as a Java UTF-8 encoder writes them.
    encoded = data.encode("utf-8", "replace")
    return hashlib.new(name, encoded, usedforsecurity=False).hexdigest()


def java_random_double(seed: int) -> float:
    """The first ``nextDouble()`` of ``java.util.Random(seed)``, which AWS's seeded $random is."""
    state = (seed ^ _JAVA_MULTIPLIER) & _JAVA_MASK

    def step(bits: int) -> int:
        nonlocal state
        state = (state * _JAVA_MULTIPLIER + 0xB) & _JAVA_MASK
        return state >> (48 - bits)

    high = step(26)
    return ((high << 27) + step(27)) * 2.0**-53


def _random(args: list[Any]) -> Any:
    _arity("random", args, 0, 1, "$random() or $random(seed)")
    if not args or args[0] is UNDEFINED or args[0] is None:
        return _RANDOM.random()
    return java_random_double(_integer("random", "seed", args[0]))


def _uuid(args: list[Any]) -> Any:
    _arity("uuid", args, 0, 0, "$uuid()")
    return str(uuid.uuid4())


def _parse_int(text: str) -> int | float:
    # AWS keeps integers that fit in a Java long and reads wider ones as doubles.
    number = int(text)
    return number if -_INT64 <= number < _INT64 else float(number)


def _parse_float(text: str) -> float:
    number = float(text)
    if not math.isfinite(number):
        raise ValueError(f"the number {text} is too large")
    return number


def _reject_constant(text: str) -> Any:
    raise ValueError(f"{text} is not JSON")


def _parse(args: list[Any]) -> Any:
    _arity("parse", args, 1, 1, "$parse(jsonString)")
    text = args[0]
    if text is UNDEFINED or text is None:
        return UNDEFINED
    if not isinstance(text, str):
        raise FunctionError(f"$parse takes a string that holds JSON, but got {_describe(text)}")
    try:
        return json.loads(
            text,
            parse_int=_parse_int,
            parse_float=_parse_float,
            parse_constant=_reject_constant,
        )
    except (ValueError, RecursionError) as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise FunctionError(
            f"$parse got a string that is not valid JSON ({reason}); pass a string that holds "
            "one JSON value, e.g. '{\"a\": 1}'"
        ) from None


AWS_FUNCTIONS: Final[dict[str, Callable[[list[Any]], Any]]] = {
    "partition": _partition,
    "range": _range,
    "hash": _hash,
    "uuid": _uuid,
    "parse": _parse,
    "random": _random,
}
"""The functions Step Functions adds, by JSONata name (without ``$``)."""
