"""JSONPath for ASL: reference paths, full query paths, and the ResultPath setter.

ASL uses JSONPath in two strengths:

* **Reference paths** (``InputPath``, ``OutputPath``, ``ResultPath``, Choice ``Variable``,
  ``ItemsPath``, ``…Path`` fields): only object members and array indices, always a single node.
  They are split once into a tuple of keys and walked with a loop; this is the hot path, and it is
  ~25x faster than a general JSONPath engine.
* **Query paths** (values of ``"key.$"`` in payload templates and intrinsic arguments): the whole
  JSONPath language (``[*]``, ``..``, slices, unions, filters). Simple ones still take the
  key-tuple fast path; the rest are compiled once with ``python-jsonpath``.

Evaluation never raises for a missing node: it returns :data:`MISSING` and the caller, which knows
the field being evaluated, raises the ASL error AWS raises there with AWS's cause text.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any, Final

from stepline.asl._errors import RESULT_PATH_MATCH_FAILURE, DefinitionError, StatesError
from stepline.asl._json import json_type

__all__ = [
    "MISSING",
    "CompiledPath",
    "compile_path",
    "compile_reference_path",
    "set_at_path",
    "variables_of",
]


class _Missing:
    """Marker for "the path selected nothing" (distinct from a JSON ``null``)."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "MISSING"

    def __bool__(self) -> bool:
        return False


MISSING: Final = _Missing()

Key = str | int

# `.name` where name is what AWS accepts unquoted; `['name']` / `["name"]`; `[3]` / `[-1]`.
_DOT_MEMBER = re.compile(r"\.([^.\[\]'\"\s()@$?*,:]+)")
_BRACKET_MEMBER = re.compile(r"\[\s*(?:'((?:[^'\\]|\\.)*)'|\"((?:[^\"\\]|\\.)*)\")\s*\]")
_BRACKET_INDEX = re.compile(r"\[\s*(-?\d+)\s*\]")


def _split_simple(body: str) -> tuple[Key, ...] | None:
    """Split the part after ``$`` into keys, or ``None`` if it is not a simple path."""
    keys: list[Key] = []
    pos = 0
    length = len(body)
    while pos < length:
        match = _DOT_MEMBER.match(body, pos)
        if match:
            keys.append(match.group(1))
            pos = match.end()
            continue
        match = _BRACKET_MEMBER.match(body, pos)
        if match:
            raw = match.group(1) if match.group(1) is not None else match.group(2)
            keys.append(re.sub(r"\\(.)", r"\1", raw))
            pos = match.end()
            continue
        match = _BRACKET_INDEX.match(body, pos)
        if match:
            keys.append(int(match.group(1)))
            pos = match.end()
            continue
        return None
    return tuple(keys)


def _walk(data: Any, keys: tuple[Key, ...]) -> Any:
    for key in keys:
        if type(key) is str:
            if type(data) is not dict:
                return MISSING
            data = data.get(key, MISSING)
            if data is MISSING:
                return MISSING
        else:
            if type(data) is not list:
                return MISSING
            index: int = key  # type: ignore[assignment]
            if index < -len(data) or index >= len(data):
                return MISSING
            data = data[index]
    return data


class CompiledPath:
    """A JSONPath compiled once, evaluated many times.

    Attributes:
        text: The path as written in the definition.
        is_context: True for ``$$…`` paths, which read the context object instead of the input.
        keys: For reference paths, the member/index keys after the root; ``None`` for queries.
        definite: True when the path always selects at most one node (a single value, not a list).
    """

    __slots__ = ("_query", "definite", "evaluate", "is_context", "keys", "text", "variable")

    def __init__(
        self,
        text: str,
        is_context: bool,
        keys: tuple[Key, ...] | None,
        query: Any = None,
        variable: str | None = None,
    ) -> None:
        self.text = text
        self.is_context = is_context
        self.variable = variable
        self.keys = keys
        self._query = query
        self.definite = keys is not None or query is None
        self.evaluate: Callable[[Any, Any], Any]
        if keys is not None:
            if variable is not None:
                self.evaluate = self._evaluate_variable_keys
            else:
                self.evaluate = self._evaluate_context_keys if is_context else self._evaluate_keys
        else:
            self.definite = bool(query.singular_query())
            self.evaluate = self._evaluate_query

    def _evaluate_keys(self, data: Any, context: Any) -> Any:
        keys = self.keys
        if not keys:
            return data
        return _walk(data, keys)

    def _evaluate_context_keys(self, data: Any, context: Any) -> Any:
        keys = self.keys
        if not keys:
            return context
        # The engine's context object is a dict subclass (it carries the variables), which
        # _walk's exact-type checks would refuse: take the first step here.
        if not isinstance(context, dict) or type(keys[0]) is not str:
            return MISSING
        first = context.get(keys[0], MISSING)
        if first is MISSING or len(keys) == 1:
            return first
        return _walk(first, keys[1:])

    def _evaluate_variable_keys(self, data: Any, context: Any) -> Any:
        value = variables_of(context).get(self.variable, MISSING)  # type: ignore[arg-type]
        keys = self.keys
        if not keys or value is MISSING:
            return value
        return _walk(value, keys)

    def _evaluate_query(self, data: Any, context: Any) -> Any:
        if self.variable is not None:
            root = variables_of(context).get(self.variable, MISSING)
            if root is MISSING:
                return MISSING
        else:
            root = context if self.is_context else data
        try:
            found = self._query.findall(root)
        except _query_errors:
            found = []
        if self.definite:
            return found[0] if found else MISSING
        return found

    def __repr__(self) -> str:
        return f"CompiledPath({self.text!r})"


_CACHE: dict[tuple[str, bool], CompiledPath] = {}

# What evaluating a python-jsonpath query may raise (a type mismatch inside a filter, say):
# it means "no match". Extended with the library's own error once it is imported.
_query_errors: tuple[type[Exception], ...] = (TypeError, ValueError, LookupError, ArithmeticError)


_VARIABLE_ROOT = re.compile(r"\$([A-Za-z_][A-Za-z0-9_]*)")


def _check_root(text: str) -> tuple[bool, str | None, str]:
    """Split a path into (reads the context?, variable name or None, the rest after the root)."""
    if not isinstance(text, str):
        raise DefinitionError(f"A path must be a string, got {type(text).__name__}.")
    variable = None
    if text.startswith("$$"):
        is_context, body = True, text[2:]
    elif text.startswith("$"):
        is_context, body = False, text[1:]
        named = _VARIABLE_ROOT.match(text)
        if named:
            # `$name…`: a workflow variable (JSONPath mode reads them as `"x.$": "$name.a"`).
            variable, body = named.group(1), text[named.end() :]
    else:
        raise DefinitionError(
            f"The path {text!r} must start with '$' (the state input), '$$' (the context "
            "object) or '$name' (a workflow variable).",
            "INVALID_JSON_PATH",
        )
    if body and body[0] not in ".[":
        raise DefinitionError(
            f"The path {text!r} is not valid JSONPath: after the root comes '.member' or '[...]'.",
            "INVALID_JSON_PATH",
        )
    return is_context, variable, body


def variables_of(context: Any) -> Mapping[str, Any]:
    """The workflow variables visible to an evaluation (carried by the context object)."""
    return getattr(context, "variables", _NO_VARIABLES)


_NO_VARIABLES: Mapping[str, Any] = {}


def compile_reference_path(text: str) -> CompiledPath:
    """Compile a reference path: members and indices only, one node.

    Args:
        text: e.g. ``$``, ``$.order.items[0]``, ``$['first name']``, ``$$.Execution.Id``.

    Returns:
        The compiled path.

    Raises:
        DefinitionError: The text is not a reference path (it uses ``*``, ``..``, filters, …).
    """
    key = (text, True)
    cached = _CACHE.get(key)
    if cached is not None:
        return cached
    is_context, variable, body = _check_root(text)
    keys = _split_simple(body)
    if keys is None:
        raise DefinitionError(
            f"The value {text!r} is not a valid reference path: only '.member', "
            "\"['member']\" and '[index]' are allowed here (no '*', '..', slices or filters).",
            "INVALID_JSON_PATH",
        )
    compiled = CompiledPath(text, is_context, keys, variable=variable)
    _CACHE[key] = compiled
    return compiled


def compile_path(text: str) -> CompiledPath:
    """Compile any JSONPath, as used in ``"key.$"`` template values and intrinsic arguments.

    Simple paths get the key-walk fast path; anything else is compiled with python-jsonpath.
    Jayway's ``.length()`` suffix, which AWS accepts, is supported.

    Raises:
        DefinitionError: The text is not valid JSONPath.
    """
    key = (text, False)
    cached = _CACHE.get(key)
    if cached is not None:
        return cached
    is_context, variable, body = _check_root(text)
    keys = _split_simple(body)
    if keys is not None:
        compiled = CompiledPath(text, is_context, keys, variable=variable)
    elif body.endswith(".length()"):
        compiled = _LengthPath(text, is_context, compile_path(text[: -len(".length()")]))
    else:
        # Imported here: python-jsonpath takes ~0.1 s to import and most definitions only use
        # reference paths, so `stepline --version` and simple runs never pay for it.
        import jsonpath
        from jsonpath.exceptions import JSONPathError

        global _query_errors
        _query_errors = (JSONPathError, TypeError, ValueError, LookupError, ArithmeticError)
        try:
            query = jsonpath.compile("$" + body)
        except (JSONPathError, TypeError, ValueError, RecursionError) as exc:
            detail = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raise DefinitionError(
                f"The value {text!r} is not a valid JSONPath ({detail}).", "INVALID_JSON_PATH"
            ) from None
        compiled = CompiledPath(text, is_context, None, query, variable)
    _CACHE[key] = compiled
    return compiled


class _LengthPath(CompiledPath):
    """``$.items.length()``: the length of the array (or string) the inner path selects."""

    __slots__ = ("_inner",)

    def __init__(self, text: str, is_context: bool, inner: CompiledPath) -> None:
        self.text = text
        self.is_context = is_context
        self.variable = inner.variable
        self.keys = None
        self._query = None
        self.definite = True
        self._inner = inner
        self.evaluate = self._evaluate_length

    def _evaluate_length(self, data: Any, context: Any) -> Any:
        value = self._inner.evaluate(data, context)
        if isinstance(value, list | str | dict):
            return len(value)
        return MISSING


def set_at_path(data: Any, keys: tuple[Key, ...], value: Any) -> Any:
    """Return ``data`` with ``value`` placed at ``keys`` (the ResultPath rule), copy-on-write.

    Only the containers along the path are copied (shallowly); everything else is shared, so the
    caller's ``data`` is never changed. Missing objects along the path are created.

    Raises:
        StatesError: ``States.ResultPathMatchFailure`` when the path crosses a value that is not
            an object (or an index out of range), as AWS does.
    """
    if not keys:
        return value
    key = keys[0]
    if len(keys) == 1 and type(data) is dict and type(key) is str:
        # `"ResultPath": "$.field"`, the common case: one shallow copy.
        updated = dict(data)
        updated[key] = value
        return updated
    if type(key) is str:
        if data is MISSING:
            data = {}
        if type(data) is not dict:
            raise StatesError(
                RESULT_PATH_MATCH_FAILURE,
                f"Unable to apply ResultPath: the value at '{key}' cannot be set because its "
                f"parent is a {_json_type(data)}, not an object.",
            )
        updated = dict(data)
        updated[key] = set_at_path(data.get(key, MISSING), keys[1:], value)
        return updated
    index: int = key  # type: ignore[assignment]
    if type(data) is not list or not -len(data) <= index < len(data):
        raise StatesError(
            RESULT_PATH_MATCH_FAILURE,
            f"Unable to apply ResultPath: index [{index}] does not exist in the "
            f"{_json_type(data)}.",
        )
    updated_list = list(data)
    updated_list[index] = set_at_path(data[index], keys[1:], value)
    return updated_list


def _json_type(value: Any) -> str:
    return "missing value" if value is MISSING else json_type(value)
