"""ASL intrinsic functions (JSONPath mode): compile a call once, evaluate it many times.

:func:`compile_intrinsic` parses a call such as ``States.MathAdd($.i, 1)`` (see
:mod:`stepline.asl._intrinsics_parse`) and turns it into a tree of closures, one per call, each
holding its argument readers already resolved. Evaluation does no parsing and no regex work.

Errors are split by when they can be known:

* at compile time, :class:`DefinitionError` (code ``INVALID_INTRINSIC``): syntax, unknown
  function names, argument counts, and literal arguments of the wrong type or out of range
  (``States.MathAdd($.i, 'one')``, ``States.JsonMerge($.a, $.b, true)``). Calls whose arguments
  are all literals are evaluated right away, so their failures are definition errors too;
* at run time, :class:`StatesError`: ``States.Runtime`` when a path argument selects nothing, and
  ``States.IntrinsicFailure`` for everything else. Causes follow AWS's observed shape,
  ``The function '<call as written>' had the following error: <detail>``. Nothing else escapes.

Non-integer numbers are rounded the way Java's ``Math.round`` does (halves go up), which is what
AWS does where its documentation says arguments are "rounded to the nearest integer".
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import math
import random
import uuid
from collections.abc import Callable
from decimal import Decimal
from functools import lru_cache
from typing import Any, Final

from stepline.asl._errors import INTRINSIC_FAILURE, RUNTIME, DefinitionError, StatesError
from stepline.asl._intrinsics_parse import (
    INT32_MAX,
    INT32_MIN,
    INVALID_INTRINSIC,
    PLACEHOLDER,
    SIGNATURES,
    ArgumentError,
    Call,
    Check,
    Literal,
    Node,
    PathArg,
    Signature,
    TemplatePart,
    argument_problem,
    describe,
    is_intrinsic,
    parse_intrinsic,
)
from stepline.asl._json import dumps_text
from stepline.asl._paths import MISSING

__all__ = ["Evaluator", "compile_intrinsic", "is_intrinsic"]

Evaluator = Callable[[Any, Any], Any]
"""A compiled call: ``evaluate(input, context) -> JSON value``."""

_Impl = Callable[[list[Any]], Any]

ARRAY_RANGE_LIMIT: Final = 1000
_JSON_SPACE: Final = " \t\r\n"
_RANDOM = random.Random()  # not for secrets: AWS documents MathRandom as not cryptographic


def _safe_dumps(value: Any) -> str:
    try:
        return dumps_text(value)
    except Exception:
        return repr(value)


# --- function bodies: list of checked values -> result -------------------------------------------


def _array(values: list[Any]) -> Any:
    return values


def _array_partition(values: list[Any]) -> Any:
    items, size = values
    return [items[start : start + size] for start in range(0, len(items), size)]


def _json_key(value: Any) -> Any:
    """A hashable key under which equal JSON values are equal (``true`` is not ``1``)."""
    kind = type(value)
    if kind is str:
        return value
    if kind is bool:
        return (bool, value)
    if kind is int or kind is float:
        return (float, value)  # 1 and 1.0 are one JSON number; hash(1) == hash(1.0)
    if value is None:
        return None
    if kind is list:
        return (list, tuple(_json_key(item) for item in value))
    if kind is dict:
        return (dict, frozenset((key, _json_key(item)) for key, item in value.items()))
    raise ArgumentError(f"found {describe(value)}, which is not a JSON value")


def _array_contains(values: list[Any]) -> Any:
    items, wanted = values
    key = _json_key(wanted)
    return any(_json_key(item) == key for item in items)


def _array_range(values: list[Any]) -> Any:
    first, last, step = values
    count = (last - first) // step + 1
    if count > ARRAY_RANGE_LIMIT:
        raise ArgumentError(
            f"States.ArrayRange({first}, {last}, {step}) would make {count:,} items, more than "
            f"the AWS limit of {ARRAY_RANGE_LIMIT:,}; use a larger step or a shorter range"
        )
    return list(range(first, last + (1 if step > 0 else -1), step))


def _array_get_item(values: list[Any]) -> Any:
    items, index = values
    if 0 <= index < len(items):
        return items[index]
    if not items:
        raise ArgumentError(f"States.ArrayGetItem got index {index}, but the array is empty")
    raise ArgumentError(
        f"States.ArrayGetItem got index {index}, which is out of range for an array of "
        f"{len(items)} items; use an index from 0 to {len(items) - 1}"
    )


def _array_length(values: list[Any]) -> Any:
    return len(values[0])


def _array_unique(values: list[Any]) -> Any:
    seen: dict[Any, Any] = {}
    for item in values[0]:
        seen.setdefault(_json_key(item), item)
    return list(seen.values())


def _base64_encode(values: list[Any]) -> Any:
    # Lone surrogates become '?', as Java's UTF-8 encoder writes them.
    return base64.b64encode(values[0].encode("utf-8", "replace")).decode("ascii")


def _base64_decode(values: list[Any]) -> Any:
    compact = "".join(values[0].split())  # MIME Base64 allows line breaks
    compact += "=" * (-len(compact) % 4)  # and padding is optional
    try:
        raw = base64.b64decode(compact, validate=True)
    except (binascii.Error, ValueError):
        raise ArgumentError(
            "States.Base64Decode got a string that is not valid Base64; it may only hold A-Z, "
            "a-z, 0-9, '+', '/' and trailing '=' padding"
        ) from None
    return raw.decode("utf-8", "replace")  # invalid UTF-8 becomes U+FFFD, as in Java


def _hash(values: list[Any]) -> Any:
    data, algorithm = values
    digest = hashlib.new(algorithm, data.encode("utf-8", "replace"), usedforsecurity=False)
    return digest.hexdigest()


def _json_merge(values: list[Any]) -> Any:
    first, second, _ = values
    return {**first, **second}


def _finite_float(text: str) -> float:
    number = float(text)
    if not math.isfinite(number):
        raise ValueError(f"the number {text} is too large")
    return number


def _reject_constant(text: str) -> Any:
    raise ValueError(f"{text} is not JSON")


def _string_to_json(values: list[Any]) -> Any:
    text = values[0]
    if not text.strip(_JSON_SPACE):
        return None  # AWS answers null for an empty or blank string
    try:
        return json.loads(text, parse_float=_finite_float, parse_constant=_reject_constant)
    except (ValueError, RecursionError) as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise ArgumentError(
            f"States.StringToJson got a string that is not valid JSON ({reason}); pass a string "
            "that holds one JSON value, e.g. '{\"a\": 1}'"
        ) from None


def _json_to_string(values: list[Any]) -> Any:
    return dumps_text(values[0])


def _math_random_bounds(start: int, end: int) -> str:
    return (
        f"States.MathRandom needs a start lower than its end, but got start {start} and end "
        f"{end}; the end is exclusive"
    )


def _math_random(values: list[Any]) -> Any:
    start, end = values[0], values[1]
    if start >= end:
        raise ArgumentError(_math_random_bounds(start, end))
    if len(values) == 3:
        return random.Random(values[2]).randrange(start, end)
    return _RANDOM.randrange(start, end)


def _math_add(values: list[Any]) -> Any:
    return values[0] + values[1]


def _string_split(values: list[Any]) -> Any:
    text, delimiters = values
    # Every character of the second argument is a delimiter and empty pieces are dropped.
    if len(delimiters) == 1:
        return [piece for piece in text.split(delimiters) if piece]
    if not delimiters:
        return [text] if text else []
    stops = frozenset(delimiters)
    pieces: list[str] = []
    start = 0
    for position, char in enumerate(text):
        if char in stops:
            if position > start:
                pieces.append(text[start:position])
            start = position + 1
    if start < len(text):
        pieces.append(text[start:])
    return pieces


def _uuid(values: list[Any]) -> Any:
    return str(uuid.uuid4())


_IMPLS: Final[dict[str, _Impl]] = {
    "States.StringToJson": _string_to_json,
    "States.JsonToString": _json_to_string,
    "States.Array": _array,
    "States.ArrayPartition": _array_partition,
    "States.ArrayContains": _array_contains,
    "States.ArrayRange": _array_range,
    "States.ArrayGetItem": _array_get_item,
    "States.ArrayLength": _array_length,
    "States.ArrayUnique": _array_unique,
    "States.Base64Encode": _base64_encode,
    "States.Base64Decode": _base64_decode,
    "States.Hash": _hash,
    "States.JsonMerge": _json_merge,
    "States.MathRandom": _math_random,
    "States.MathAdd": _math_add,
    "States.StringSplit": _string_split,
    "States.UUID": _uuid,
}
"""What each function does (States.Format is compiled on its own)."""


# --- messages ------------------------------------------------------------------------------------


def _cause(text: str, detail: str) -> str:
    return f"The function '{text}' had the following error: {detail[:1].upper()}{detail[1:]}"


def _definition_error(text: str, detail: str) -> DefinitionError:
    shown = text if len(text) <= 200 else text[:197] + "..."
    return DefinitionError(
        f"The intrinsic function call {shown!r} is invalid: {detail}", INVALID_INTRINSIC
    )


def _failure(text: str, detail: str) -> StatesError:
    return StatesError(INTRINSIC_FAILURE, _cause(text, detail))


def _unexpected(text: str, name: str, exc: Exception) -> StatesError:
    return _failure(text, f"{name} could not be evaluated ({type(exc).__name__}: {exc})")


# --- compiling -----------------------------------------------------------------------------------


@lru_cache(maxsize=4096)
def compile_intrinsic(text: str) -> Evaluator:
    """Parse and compile an intrinsic call once.

    Args:
        text: The call as written, e.g. ``States.Format('Hello, {}', $.name)``.

    Returns:
        ``evaluate(input, context) -> JSON value``. It raises :class:`StatesError` only:
        ``States.Runtime`` when a path argument selects nothing, ``States.IntrinsicFailure``
        when an argument has the wrong type or value.

    Raises:
        DefinitionError: Code ``INVALID_INTRINSIC``: a syntax error, an unknown function, a
            wrong number of arguments, or a literal argument that can never work.
    """
    return _compile_call(parse_intrinsic(text), text)


def _constant(value: Any) -> Evaluator:
    def evaluate(data: Any, context: Any) -> Any:
        return value

    return evaluate


def _compile_arg(node: Node, text: str) -> Evaluator:
    if isinstance(node, Literal):
        return _constant(node.value)
    if isinstance(node, PathArg):
        return _path_reader(node, text)
    return _compile_call(node, text)


def _path_reader(arg: PathArg, text: str) -> Evaluator:
    evaluate = arg.path.evaluate
    path_text = arg.text
    is_context = arg.path.is_context

    def read(data: Any, context: Any) -> Any:
        value = evaluate(data, context)
        if value is MISSING:
            source = "context object" if is_context else "input"
            shown = _safe_dumps(context if is_context else data)
            raise StatesError(
                RUNTIME,
                _cause(
                    text,
                    f"The JsonPath argument for the field '{path_text}' could not be found in "
                    f"the {source} '{shown}'",
                ),
            )
        return value

    return read


def _compile_call(call: Call, text: str) -> Evaluator:
    spec = SIGNATURES.get(call.name)
    if spec is None:
        raise _definition_error(text, _unknown_function(call.name))
    count = len(call.args)
    if count < spec.minimum or (spec.maximum is not None and count > spec.maximum):
        raise _definition_error(text, _arity_problem(spec, count))
    if spec.name == "States.Format":
        return _compile_format(call, text)
    readers: list[Evaluator] = []
    checks: list[tuple[int, Check]] = []
    literals: list[Any] = []
    for index, arg in enumerate(call.args):
        check = spec.check(index)
        if isinstance(arg, Literal):
            value = arg.value
            if check is not None:
                try:
                    value = check(value)
                except ArgumentError as failure:
                    raise _definition_error(
                        text, argument_problem(spec, index, failure.detail)
                    ) from None
            literals.append(value)
            readers.append(_constant(value))
        else:
            readers.append(_compile_arg(arg, text))
            if check is not None:
                checks.append((index, check))
    if len(literals) == count:
        if spec.pure:
            try:
                return _constant(_IMPLS[spec.name](literals))
            except ArgumentError as failure:
                raise _definition_error(text, failure.detail) from None
        if spec.name == "States.MathRandom" and literals[0] >= literals[1]:
            raise _definition_error(text, _math_random_bounds(literals[0], literals[1]))
    generic = _generic(spec, text, tuple(readers), tuple(checks))
    if spec.name == "States.MathAdd":  # loop counters: the one call benchmarks hammer
        return _fast_math_add(call.args, readers, generic)
    return generic


def _unknown_function(name: str) -> str:
    known = {spec_name.lower(): spec_name for spec_name in SIGNATURES}
    hint = f" Did you mean {known[name.lower()]}?" if name.lower() in known else ""
    return (
        f"{name} is not an intrinsic function (names are case-sensitive).{hint} The functions "
        f"are: {', '.join(SIGNATURES)}."
    )


def _arity_problem(spec: Signature, count: int) -> str:
    if spec.maximum is None:
        expected = f"at least {spec.minimum} argument{'s' if spec.minimum != 1 else ''}"
    elif spec.maximum == 0:
        expected = "no arguments"
    elif spec.minimum == spec.maximum:
        expected = f"exactly {spec.minimum} argument{'s' if spec.minimum != 1 else ''}"
    else:
        expected = f"{spec.minimum} or {spec.maximum} arguments"
    given = f"{count} {'was' if count == 1 else 'were'} given"
    return f"{spec.name} takes {expected}, but {given}. Usage: {spec.usage}"


def _generic(
    spec: Signature,
    text: str,
    readers: tuple[Evaluator, ...],
    checks: tuple[tuple[int, Check], ...],
) -> Evaluator:
    impl = _IMPLS[spec.name]
    name = spec.name

    def evaluate(data: Any, context: Any) -> Any:
        try:
            values = [read(data, context) for read in readers]
            for index, check in checks:
                try:
                    values[index] = check(values[index])
                except ArgumentError as failure:
                    raise ArgumentError(argument_problem(spec, index, failure.detail)) from None
            return impl(values)
        except StatesError:
            raise
        except ArgumentError as failure:
            raise _failure(text, failure.detail) from None
        except Exception as exc:  # the contract: nothing but StatesError leaves an intrinsic
            raise _unexpected(text, name, exc) from None

    return evaluate


def _fast_math_add(
    args: tuple[Node, ...], readers: list[Evaluator], generic: Evaluator
) -> Evaluator:
    """``States.MathAdd`` on plain paths and literals (the loop counter): no list, no checks.

    Anything but an in-range integer falls back to the generic evaluator, which reports it.
    """
    first, second = args
    if isinstance(first, PathArg) and isinstance(second, PathArg):
        if first.path.keys is None or second.path.keys is None:
            return generic
        read_first, read_second = first.path.evaluate, second.path.evaluate

        def add_paths(data: Any, context: Any) -> Any:
            a, b = read_first(data, context), read_second(data, context)
            if (
                type(a) is int
                and type(b) is int
                and INT32_MIN <= a <= INT32_MAX
                and INT32_MIN <= b <= INT32_MAX
            ):
                return a + b
            return generic(data, context)

        return add_paths
    if isinstance(first, PathArg) and isinstance(second, Literal):
        path, step = first, readers[1](None, None)
    elif isinstance(first, Literal) and isinstance(second, PathArg):
        path, step = second, readers[0](None, None)
    else:
        return generic
    keys = path.path.keys
    if keys is None:
        return generic
    if len(keys) == 1 and type(keys[0]) is str and not path.path.is_context:
        member = keys[0]

        def add_to_member(data: Any, context: Any) -> Any:
            if type(data) is dict:
                value = data.get(member)
                if type(value) is int and INT32_MIN <= value <= INT32_MAX:
                    return value + step
            return generic(data, context)

        return add_to_member
    read = path.path.evaluate

    def add(data: Any, context: Any) -> Any:
        value = read(data, context)
        if type(value) is int and INT32_MIN <= value <= INT32_MAX:
            return value + step
        return generic(data, context)

    return add


# --- States.Format -------------------------------------------------------------------------------


def _compile_format(call: Call, text: str) -> Evaluator:
    template_arg = call.args[0]
    readers = tuple(_compile_arg(arg, text) for arg in call.args[1:])
    if isinstance(template_arg, Literal):
        if type(template_arg.value) is not str or template_arg.template is None:
            raise _definition_error(
                text,
                "the 1st argument of States.Format must be a string template, but it is "
                f"{describe(template_arg.value)}. Usage: {SIGNATURES['States.Format'].usage}",
            )
        parts = template_arg.template
        problem = _count_problem(parts, len(readers))
        if problem:
            raise _definition_error(text, problem)
        if all(isinstance(arg, Literal) for arg in call.args[1:]):
            values = [read(None, None) for read in readers]
            try:
                return _constant(_fill(parts, values))
            except Exception as exc:
                raise _definition_error(text, f"States.Format failed ({exc})") from None
        return _format_fixed(parts, readers, text)
    return _format_dynamic(_compile_arg(template_arg, text), readers, text)


def _format_fixed(
    parts: tuple[TemplatePart, ...], readers: tuple[Evaluator, ...], text: str
) -> Evaluator:
    def evaluate(data: Any, context: Any) -> Any:
        try:
            return _fill(parts, [read(data, context) for read in readers])
        except StatesError:
            raise
        except Exception as exc:
            raise _unexpected(text, "States.Format", exc) from None

    return evaluate


def _format_dynamic(
    template_reader: Evaluator, readers: tuple[Evaluator, ...], text: str
) -> Evaluator:
    def evaluate(data: Any, context: Any) -> Any:
        try:
            template = template_reader(data, context)
            values = [read(data, context) for read in readers]
            if type(template) is not str:
                raise ArgumentError(
                    "the 1st argument of States.Format must be a string template, but it is "
                    f"{describe(template)}"
                )
            parts = _split_template(template)
            problem = _count_problem(parts, len(values))
            if problem:
                raise ArgumentError(problem)
            return _fill(parts, values)
        except StatesError:
            raise
        except ArgumentError as failure:
            raise _failure(text, failure.detail) from None
        except Exception as exc:
            raise _unexpected(text, "States.Format", exc) from None

    return evaluate


def _count_problem(parts: tuple[TemplatePart, ...], given: int) -> str:
    holes = sum(1 for part in parts if part is PLACEHOLDER)
    if holes == given:
        return ""
    return (
        f"States.Format got {given} value{'s' if given != 1 else ''} for a template with "
        f"{holes} '{{}}' placeholder{'s' if holes != 1 else ''}; pass one value per '{{}}' "
        "(write \\{ and \\} for literal braces)"
    )


def _split_template(template: str) -> tuple[TemplatePart, ...]:
    """Split a template read at run time: ``{}`` is a placeholder, ``\\{ \\} \\\\ \\'`` escapes."""
    parts: list[TemplatePart] = []
    chunk: list[str] = []
    position = 0
    length = len(template)
    while position < length:
        char = template[position]
        following = template[position + 1] if position + 1 < length else ""
        if char == "\\" and following in ("{", "}", "\\", "'"):
            chunk.append(following)
            position += 2
        elif char == "{" and following == "}":
            if chunk:
                parts.append("".join(chunk))
                chunk = []
            parts.append(PLACEHOLDER)
            position += 2
        else:
            chunk.append(char)
            position += 1
    if chunk:
        parts.append("".join(chunk))
    return tuple(parts)


def _fill(parts: tuple[TemplatePart, ...], values: list[Any]) -> str:
    pieces: list[str] = []
    index = 0
    for part in parts:
        if part is PLACEHOLDER:
            value = values[index]
            index += 1
            pieces.append(value if type(value) is str else _java_text(value))
        else:
            pieces.append(part)  # type: ignore[arg-type]
    return "".join(pieces)


def _java_text(value: Any) -> str:
    """Render a value the way AWS's States.Format does: Java's ``toString`` of the JSON tree.

    Objects print as ``{a=1, b=[x, y]}`` and strings inside them are not quoted (observed on
    AWS); numbers follow ``Double.toString``.
    """
    kind = type(value)
    if kind is str:
        return value  # type: ignore[no-any-return]
    if value is None:
        return "null"
    if kind is bool:
        return "true" if value else "false"
    if kind is int:
        return str(value)
    if kind is float:
        return _java_double(value)
    if kind is list:
        return "[" + ", ".join(_java_text(item) for item in value) + "]"
    if kind is dict:
        return "{" + ", ".join(f"{key}={_java_text(item)}" for key, item in value.items()) + "}"
    return str(value)


def _java_double(number: float) -> str:
    """Java's ``Double.toString``: plain between 1e-3 and 1e7, else ``d.dddE±n``."""
    if not math.isfinite(number):
        return "NaN" if math.isnan(number) else ("Infinity" if number > 0 else "-Infinity")
    if number == 0:
        return "-0.0" if math.copysign(1.0, number) < 0 else "0.0"
    sign, digit_tuple, raw_exponent = Decimal(repr(number)).as_tuple()
    all_digits = "".join(map(str, digit_tuple))
    digits = all_digits.rstrip("0")
    exponent = int(raw_exponent) + len(all_digits) - len(digits)
    scientific = len(digits) - 1 + exponent  # the power of ten of the first digit
    prefix = "-" if sign else ""
    if -3 <= scientific < 7:
        if scientific >= 0:
            whole = digits[: scientific + 1].ljust(scientific + 1, "0")
            return f"{prefix}{whole}.{digits[scientific + 1 :] or '0'}"
        return f"{prefix}0.{'0' * (-scientific - 1)}{digits}"
    return f"{prefix}{digits[0]}.{digits[1:] or '0'}E{scientific}"
