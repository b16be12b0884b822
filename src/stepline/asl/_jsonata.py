"""The JSONata seam: compile an expression once, evaluate it many times, on a swappable engine.

Everything else in stepline talks to JSONata through this module, never to an engine, so the
engine (a young library) can be replaced without touching callers. Two engines sit behind it:

* ``jsonata2py`` (the default): translates an expression to Python once; by far the fastest on
  the many small expressions a state evaluates.
* ``jsonatapy`` (Rust): the second engine, run by the test suite so that a defect in one shows.
  Select it with ``STEPLINE_JSONATA_ENGINE=jsonatapy`` (read on first use).

Semantics follow Step Functions' JSONata mode:

* An expression has no input document: ``$`` is undefined. Data reaches it only as variables,
  ``$states`` (``input``, ``context``, ``result``, ``errorOutput``) and workflow variables.
* The six functions Step Functions adds (:mod:`stepline.asl._jsonata_functions`) are bound,
  ``$random`` takes a seed, and ``$eval`` is gone: calling it fails at run time with T1006, as
  on AWS (AWS accepts such a definition and fails the state).
* A binding shadows a function of the same name, built-in or added: with a workflow variable
  ``count`` bound, ``$count`` is its value and ``$count(x)`` fails with T1006 ("Attempted to
  invoke a non-function"), as in jsonata-js, which looks a name up in the evaluation's
  bindings before the function library. Whether AWS lets a variable hide one of its six added
  functions too is not known; it does here, the same rule for every name.
* A syntax error is a :class:`DefinitionError` with code ``INVALID_JSONATA_EXPRESSION`` (AWS's
  diagnostic code), its message the parser's without the JSONata error code.
* Evaluation errors are :class:`StatesError` ``States.QueryEvaluationError`` with AWS's cause,
  ``The JSONata expression '<expr>' specified for the field '<field>' threw an error during
  evaluation. <CODE>: <message>`` (``: <message>`` when there is no code). A result of nothing
  is :data:`UNDEFINED`; the caller decides whether that is an error
  (:meth:`CompiledExpression.undefined_error` builds AWS's).

Engine differences the seam evens out: jsonata2py resolves built-in names at compile time (so
``$random``/``$eval`` are renamed in the text, see :mod:`stepline.asl._jsonata_scan`, and a
binding cannot shadow a function: :mod:`stepline.asl._jsonata_shadowing` runs a renamed
version when the bindings hold a function name the expression mentions);
jsonatapy refuses integers wider than 64 bits in its input (they are passed as floats, which
is what JSONata's double arithmetic makes of them anyway) and cannot tell ``null`` from
undefined in a plain call (its JSON entry point is used instead). Infinite numbers become
``null`` on both, as JSON would write them.
"""

from __future__ import annotations

import math
import os
import re
import threading
from collections.abc import Callable, Mapping
from functools import partial
from typing import Any, Final, Protocol

from stepline.asl._errors import QUERY_EVALUATION_ERROR, DefinitionError, StatesError
from stepline.asl._jsonata_fast import Fallback, compile_fast_path
from stepline.asl._jsonata_functions import AWS_FUNCTIONS, UNDEFINED, FunctionError
from stepline.asl._jsonata_scan import RENAMED_FUNCTIONS, Scan, scan
from stepline.asl._jsonata_shadowing import AliasedBindings, Runner, Shadowing

__all__ = [
    "DEFAULT_ENGINE",
    "ENGINES",
    "ENGINE_VARIABLE",
    "INVALID_JSONATA_EXPRESSION",
    "JSONATAPY_TIMEOUT_MS",
    "UNDEFINED",
    "CompiledExpression",
    "JsonataSyntaxError",
    "compile_jsonata",
    "jsonata_engine_name",
    "select_jsonata_engine",
]

INVALID_JSONATA_EXPRESSION: Final = "INVALID_JSONATA_EXPRESSION"
ENGINE_VARIABLE: Final = "STEPLINE_JSONATA_ENGINE"
DEFAULT_ENGINE: Final = "jsonata2py"
ENGINES: Final = ("jsonata2py", "jsonatapy")

# jsonata-js's texts for codes whose message the engines word their own way (and name the
# function or the value, which AWS's does not).
_FIXED_MESSAGES: Final = {
    "T1006": "Attempted to invoke a non-function",
    "T2006": "The right side of the function application operator ~> must be a function",
}
_CODE: Final = re.compile(r"^([A-Z]\d{4}):?\s*")
_POSITION_SUFFIX: Final = re.compile(r"\s*\(position -?\d+\)$")


class JsonataSyntaxError(DefinitionError):
    """An expression that does not parse.

    Args:
        message: The parser's message, e.g. ``Unexpected end of expression (position 3)``.
        position: Character offset in the expression as written, when the engine gives one.
        jsonata_code: JSONata's own code (``S0207``), when the engine gives one.
    """

    def __init__(self, message: str, position: int | None, jsonata_code: str | None) -> None:
        super().__init__(message, INVALID_JSONATA_EXPRESSION)
        self.position = position
        self.jsonata_code = jsonata_code


class _Failure(Exception):
    """Raised by an engine adapter: the cause's tail, ``T0410: …`` or a bare message."""

    def __init__(self, detail: str, coded: bool) -> None:
        super().__init__(detail)
        self.detail = detail
        self.coded = coded


def _coded(code: str | None, message: str) -> _Failure:
    """Normalise an engine's error into AWS's ``CODE: message`` tail."""
    message = _POSITION_SUFFIX.sub("", message.strip())
    match = _CODE.match(message)
    if match is not None:  # some engine messages repeat their code
        code = code or match.group(1)
        message = message[match.end() :]
    if code in _FIXED_MESSAGES:
        message = _FIXED_MESSAGES[code]
    if not code:
        return _Failure(message, coded=False)
    return _Failure(f"{code}: {message}", coded=True)


class _Engine(Protocol):
    name: str

    def compile(self, text: str, found: Scan) -> Runner: ...


# --- jsonata2py ----------------------------------------------------------------------------------


class _Jsonata2Py:
    """jsonata2py: per-call bindings are a view over the caller's mapping (no copy)."""

    name = "jsonata2py"

    def __init__(self) -> None:
        import jsonata2py
        from jsonata2py import MISSING, JsonataBindings, JsonataFunctionArguments

        self._module = jsonata2py
        self._factory = jsonata2py.JsonataExpressionFactory()
        missing = MISSING

        class BoundFunction:
            """Adapts one of :data:`AWS_FUNCTIONS` to jsonata2py's bound-function protocol."""

            __slots__ = ("_function",)

            def __init__(self, function: Callable[[list[Any]], Any]) -> None:
                self._function = function

            def get_function_signature(self) -> str | None:
                return None

            def apply(self, args: JsonataFunctionArguments) -> Any:
                values = [UNDEFINED if value is missing else value for value in args.as_list()]
                result = self._function(values)
                return missing if result is UNDEFINED else result

        functions = {
            RENAMED_FUNCTIONS.get(name, name): BoundFunction(function)
            for name, function in AWS_FUNCTIONS.items()
        }

        class ViewBindings(JsonataBindings):
            """The caller's variables plus the AWS functions, without copying either."""

            __slots__ = ()

            def __init__(self, values: Mapping[str, Any]) -> None:
                self._values = values  # type: ignore[assignment]  # read through .get only
                self._functions = functions  # type: ignore[assignment]

            def is_empty(self) -> bool:
                return False

        self._bindings = ViewBindings
        self._missing = missing

    def compile(self, text: str, found: Scan) -> Runner:
        module = self._module
        try:
            compiled = self._factory.compile(found.renamed)
        except module.JsonataCompilationError as exc:
            raise _syntax_error(exc, found) from None
        except RecursionError:
            raise JsonataSyntaxError(
                "The expression is nested too deeply to compile", None, None
            ) from None
        evaluate = compiled.evaluate
        bindings_type = self._bindings
        missing = self._missing
        evaluation_error = module.JsonataEvaluationError
        plain = _PLAIN_TYPES

        def run(bindings: Mapping[str, Any]) -> Any:
            try:
                result = evaluate(missing, bindings_type(bindings))
            except evaluation_error as exc:
                raise _from_jsonata2py(exc) from None
            except Exception as exc:  # not expected (the engine wraps its errors): be safe
                raise _coded(None, f"{type(exc).__name__}: {exc}") from None
            kind = type(result)
            if kind in plain or isinstance(result, dict | list):  # a dict subclass: $states.context
                return result
            if kind is float:
                return result if math.isfinite(result) else None
            return UNDEFINED  # MISSING, or a function value, which JSON cannot hold

        return run


def _from_jsonata2py(exc: Any) -> _Failure:
    own = _function_error(exc)
    if own is not None:
        return _Failure(own.message, coded=False)
    return _coded(exc.error_code, str(exc.message))


def _function_error(exc: BaseException) -> FunctionError | None:
    """Find a :class:`FunctionError` the engine wrapped (it keeps the chain of causes)."""
    seen = 0
    current: BaseException | None = exc
    while current is not None and seen < 20:
        if isinstance(current, FunctionError):
            return current
        current = current.__cause__ or current.__context__
        seen += 1
    return None


def _syntax_error(exc: Any, found: Scan) -> JsonataSyntaxError:
    cause = exc.__cause__
    position = getattr(cause, "position", None)
    message = _POSITION_SUFFIX.sub("", str(exc.message))
    match = _CODE.match(message)
    if match is not None:
        message = message[match.end() :]
    if isinstance(position, int) and position >= 0:
        position = found.original_position(position)
        message = f"{message} (position {position})"
    else:
        position = None
    code = exc.error_code if exc.error_code not in (None, "UNKNOWN") else None
    return JsonataSyntaxError(message, position, code)


_PLAIN_TYPES: Final = frozenset({dict, list, str, int, bool, type(None)})


# --- jsonatapy -----------------------------------------------------------------------------------

JSONATAPY_TIMEOUT_MS = 10_000
"""jsonatapy runs a tail-recursive loop forever (jsonata2py overflows its stack instead), so
its evaluations are bounded; a state that needs longer than this is not a workflow."""
_HOST_ERROR: Final = re.compile(r"^host function raised \w+: ")
_PARSE_PREFIX: Final = re.compile(r"^Parse error:\s*")
_INT64: Final = 1 << 63


def _floats_for_wide_ints(value: Any) -> Any:
    """Copy ``value`` with integers wider than 64 bits as floats (jsonatapy refuses them)."""
    kind = type(value)
    if kind is int:
        return value if -_INT64 <= value < 2 * _INT64 else float(value)
    if kind is dict:
        return {key: _floats_for_wide_ints(item) for key, item in value.items()}
    if kind is list or kind is tuple:
        return [_floats_for_wide_ints(item) for item in value]
    return value


class _JsonataPy:
    """jsonatapy: evaluated through its JSON entry point, which tells undefined from null."""

    name = "jsonatapy"

    def __init__(self) -> None:
        import jsonatapy
        import orjson

        self._module = jsonatapy
        self._loads = orjson.loads

        def host(function: Callable[[list[Any]], Any]) -> Callable[..., Any]:
            def call(*args: Any) -> Any:
                # A FunctionError's message comes back as "host function raised …: <message>".
                result = function(list(args))
                return None if result is UNDEFINED else result

            return call

        self._functions = {
            RENAMED_FUNCTIONS.get(name, name): host(function)
            for name, function in AWS_FUNCTIONS.items()
        }

    def compile(self, text: str, found: Scan) -> Runner:
        try:
            compiled = self._module.compile(found.renamed, timeout=JSONATAPY_TIMEOUT_MS)
        except (ValueError, OverflowError, RecursionError) as exc:
            message = _PARSE_PREFIX.sub("", str(exc)) or type(exc).__name__
            match = _CODE.match(message)
            code = match.group(1) if match else None
            if match is not None:
                message = message[match.end() :]
            raise JsonataSyntaxError(message, None, code) from None
        for name, function in self._functions.items():
            compiled.register(name, function)
        evaluate = compiled.evaluate_json_or_none
        loads = self._loads

        def run(bindings: Mapping[str, Any]) -> Any:
            values = bindings if type(bindings) is dict else dict(bindings)
            try:
                try:
                    text = evaluate(None, values)
                except OverflowError:
                    text = evaluate(None, _floats_for_wide_ints(values))
            except Exception as exc:  # the engine reports every failure as an exception
                message = str(exc)
                if _HOST_ERROR.match(message):
                    raise _Failure(_HOST_ERROR.sub("", message), coded=False) from None
                raise _coded(None, message) from None
            if text is None:
                return UNDEFINED
            return loads(text)

        return run


# --- engine selection ----------------------------------------------------------------------------

_LOADERS: Final[dict[str, Callable[[], _Engine]]] = {
    "jsonata2py": _Jsonata2Py,
    "jsonatapy": _JsonataPy,
}
_engine: _Engine | None = None
_engine_lock = threading.Lock()


def select_jsonata_engine(name: str | None = None) -> str:
    """Make ``name`` the engine for expressions compiled from now on, and return its name.

    With no name, the engine comes from ``STEPLINE_JSONATA_ENGINE`` (default ``jsonata2py``).
    Expressions already compiled keep the engine they were compiled with.

    Raises:
        RuntimeError: The name is not a known engine, or its package is not installed.
    """
    global _engine
    chosen = name if name is not None else os.environ.get(ENGINE_VARIABLE, "") or DEFAULT_ENGINE
    loader = _LOADERS.get(chosen.strip().lower())
    if loader is None:
        source = "the engine name" if name is not None else f"{ENGINE_VARIABLE}"
        raise RuntimeError(
            f"{source} is {chosen!r}, which is not a JSONata engine stepline knows; use one of "
            f"{', '.join(ENGINES)}"
        )
    try:
        engine = loader()
    except ImportError as exc:
        raise RuntimeError(
            f"The JSONata engine {chosen!r} is selected but cannot be imported ({exc}); install "
            f"it with `pip install {chosen.strip().lower()}`"
        ) from None
    with _engine_lock:
        _engine = engine
    return engine.name


def _active_engine() -> _Engine:
    engine = _engine
    if engine is None:
        select_jsonata_engine()
        engine = _engine
        assert engine is not None
    return engine


def jsonata_engine_name() -> str:
    """The name of the engine new expressions compile on (``jsonata2py`` or ``jsonatapy``)."""
    return _active_engine().name


# --- the seam ------------------------------------------------------------------------------------


class CompiledExpression:
    """One JSONata expression, parsed and compiled once.

    Attributes:
        text: The expression as written (without the ``{% %}`` delimiters).
        free_variables: The ``$name`` variables it reads and does not bind itself, less
            function names (``$sum``, ``$partition``); ``states`` when it reads ``$states``.
        states_fields: The members of ``$states`` it reads (``input``, ``result``, …), with
            ``"*"`` when it uses ``$states`` other than as ``$states.<member>``.
        engine: The engine it was compiled on.
        fast: Whether it has a fast path (:mod:`stepline.asl._jsonata_fast`), which evaluates
            it without the engine whenever the values allow.
    """

    __slots__ = (
        "_engine_run",
        "_run",
        "_shown",
        "engine",
        "fast",
        "free_variables",
        "states_fields",
        "text",
    )

    def __init__(self, text: str, found: Scan, engine: _Engine) -> None:
        self.text = text
        self.free_variables = found.free_variables
        self.states_fields = found.states_fields
        self.engine = engine.name
        self._shown = text.strip()
        plain = engine.compile(text, found)
        fast = compile_fast_path(text)
        self.fast = fast is not None
        names = tuple(sorted(found.function_names))
        if names:  # a binding of one of these names shadows the function: checked per run
            shadowing = Shadowing(text, names, partial(_shadowed_version, text, engine))
            self._engine_run = engine_run = shadowing.guard(plain, use_fast=False)
            self._run = shadowing.guard(plain, use_fast=True)
        else:
            self._engine_run = self._run = engine_run = plain
        if fast is not None:
            # A fast path mentions no function but `$merge`, and falls back itself when
            # `merge` is bound, so it needs no guard; its fallback is the guarded engine.

            def run(bindings: Mapping[str, Any]) -> Any:
                try:
                    return fast(bindings)
                except Fallback:
                    return engine_run(bindings)

            self._run = run

    def __repr__(self) -> str:
        return f"CompiledExpression({self.text!r}, engine={self.engine!r})"

    def evaluate(self, bindings: Mapping[str, Any], field: str | None = None) -> Any:
        """Evaluate with ``bindings`` as the variables and no input document.

        Args:
            bindings: Variable name (without ``$``) to JSON value, e.g.
                ``{"states": {"input": …, "context": …}, "orderId": "o-1"}``. Read, never
                changed; the result may share parts of it.
            field: Where the expression sits (``Output/v``, ``Arguments``), for the cause.

        Returns:
            The JSON value, or :data:`UNDEFINED` when the expression returns nothing.

        Raises:
            StatesError: ``States.QueryEvaluationError`` for any evaluation failure.
        """
        try:
            return self._run(bindings)
        except _Failure as failure:
            raise StatesError(QUERY_EVALUATION_ERROR, self._cause(failure, field), field) from None

    def evaluate_on_engine(self, bindings: Mapping[str, Any]) -> Any:
        """Evaluate with the engine alone, bypassing any fast path (for tests that compare
        the two). Raises what :meth:`evaluate` raises."""
        try:
            return self._engine_run(bindings)
        except _Failure as failure:
            raise StatesError(QUERY_EVALUATION_ERROR, self._cause(failure, None), None) from None

    def undefined_error(self, field: str | None = None) -> StatesError:
        """AWS's error for an expression that returned nothing where a value is required."""
        return StatesError(
            QUERY_EVALUATION_ERROR,
            f"The JSONata expression '{self._shown}'{_where(field)} returned nothing (undefined).",
            field,
        )

    def _cause(self, failure: _Failure, field: str | None) -> str:
        separator = ". " if failure.coded else ": "
        return (
            f"The JSONata expression '{self._shown}'{_where(field)} threw an error during "
            f"evaluation{separator}{failure.detail}"
        )


def _shadowed_version(
    text: str, engine: _Engine, found: Scan, aliases: Mapping[str, str], use_fast: bool
) -> Runner:
    """A version of ``text`` with shadowed function names renamed (see ``_jsonata_shadowing``)."""
    engine_run = engine.compile(text, found)
    fast = compile_fast_path(found.renamed) if use_fast else None

    def run(bindings: Mapping[str, Any]) -> Any:
        aliased = AliasedBindings(bindings, aliases)
        if fast is not None:
            try:
                return fast(aliased)
            except Fallback:
                pass
        try:
            return engine_run(aliased)
        except _Failure as failure:
            detail = failure.detail
            for alias, name in aliases.items():  # a message that quotes a name quotes ours
                detail = detail.replace(alias, name)
            raise _Failure(detail, failure.coded) from None

    return run


def _where(field: str | None) -> str:
    return f" specified for the field '{field}'" if field else ""


def compile_jsonata(expression: str) -> CompiledExpression:
    """Parse and compile ``expression`` (the text inside ``{% %}``) on the active engine.

    Raises:
        JsonataSyntaxError: A :class:`DefinitionError` with code
            ``INVALID_JSONATA_EXPRESSION`` when the expression does not parse.
        RuntimeError: ``STEPLINE_JSONATA_ENGINE`` names an unknown or missing engine.
    """
    if not isinstance(expression, str):
        raise TypeError(f"a JSONata expression is a str, not {type(expression).__name__}")
    engine = _active_engine()
    found = scan(expression)
    try:
        return CompiledExpression(expression, found, engine)
    except DefinitionError:
        raise
    except Exception as exc:  # an engine defect must not escape as anything but a diagnostic
        raise JsonataSyntaxError(
            f"The expression could not be compiled ({type(exc).__name__}: {exc})", None, None
        ) from None
