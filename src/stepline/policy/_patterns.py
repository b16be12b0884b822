"""Strings in a policy that match request values: wildcards and policy variables, compiled once.

A policy string (an action, a resource ARN, a condition value) is split into tokens once, when
the policy is parsed: literal text, the wildcards ``*`` and ``?``, and — in a
``"Version": "2012-10-17"`` document — policy variables ``${aws:username}``, with an optional
default ``${aws:PrincipalTag/team, 'none'}`` and the escapes ``${*}``, ``${?}`` and ``${$}``.

A string without variables is turned into its final form (a literal, or a compiled regular
expression) at parse time. A string with variables is resolved against the request context at
evaluation time; the resulting regular expression source is compiled through a bounded cache,
so a steady workload compiles nothing.

How ``*`` behaves depends on where the string sits, as in AWS:

* actions (``states:Invoke*``): anything, compared ignoring case;
* ``StringLike`` values: anything, including ``:`` and ``/``;
* ``Resource`` ARNs: a ``*`` that ends an ARN segment (followed by ``:`` or the end of the
  string) may run across colons (``arn:aws:states:us-east-1:123456789012:*`` covers
  ``…:stateMachine:Orders``); a ``*`` inside a segment (``us-*-1``) stays within it;
* ``ArnLike``/``ArnEquals`` values: each of the six colon-separated ARN components is matched on
  its own; only the last (resource) component may contain colons.

``?`` is exactly one character.
"""

from __future__ import annotations

import enum
import functools
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

__all__ = [
    "Context",
    "MatchStyle",
    "PolicyString",
    "compile_string",
    "normalize_context",
]

Context = Mapping[str, tuple[str, ...]]
"""A request context after :func:`normalize_context`: lower-case keys, tuples of values."""


def normalize_context(context: Mapping[str, str | object]) -> dict[str, tuple[str, ...]]:
    """Lower-case the keys (AWS compares context keys ignoring case) and make every value a tuple.

    An empty sequence is dropped: AWS treats a key whose value set is empty like a missing key.

    Args:
        context: Key to a string or a sequence of strings.

    Returns:
        The normalized context.

    Raises:
        TypeError: A value is neither a string nor a sequence of strings.
    """
    normalized: dict[str, tuple[str, ...]] = {}
    for key, value in context.items():
        if isinstance(value, str):
            normalized[key.lower()] = (value,)
            continue
        if isinstance(value, (list, tuple)) and all(isinstance(item, str) for item in value):
            if value:
                normalized[key.lower()] = tuple(value)
            continue
        raise TypeError(
            f"Request context key {key!r} has a {type(value).__name__}; "
            "give a string or a list of strings."
        )
    return normalized


class MatchStyle(enum.Enum):
    """How a policy string is compared with a request value."""

    EXACT = "exact"
    """Whole-string equality, case-sensitive (``StringEquals``, ``Bool``)."""
    EXACT_IGNORE_CASE = "exact-ignore-case"
    """Whole-string equality ignoring case (``StringEqualsIgnoreCase``)."""
    LIKE = "like"
    """``*`` and ``?`` wildcards anywhere, case-sensitive (``StringLike``)."""
    ACTION = "action"
    """``*`` and ``?`` wildcards, ignoring case (``Action``/``NotAction``)."""
    RESOURCE = "resource"
    """Wildcards where a segment-ending ``*`` may cross colons (``Resource``)."""
    ARN = "arn"
    """Wildcards matched per ARN component (``ArnLike``/``ArnEquals``)."""


_GLOB_STYLES: Final = frozenset(
    {MatchStyle.LIKE, MatchStyle.ACTION, MatchStyle.RESOURCE, MatchStyle.ARN}
)


class _Wildcard(enum.Enum):
    STAR = "*"
    QUESTION = "?"


@dataclass(frozen=True, slots=True)
class _Variable:
    key: str  # lower-case, as context keys are compared
    default: str | None


_Token = str | _Wildcard | _Variable

_ESCAPES: Final = {"*": "*", "?": "?", "$": "$"}
_VARIABLE_BODY: Final = re.compile(r"\s*([^\s,'{}$][^,'{}]*?)\s*(?:,\s*'([^']*)')?\s*")


def _tokenize(text: str, *, variables: bool, wildcards: bool) -> tuple[_Token, ...]:
    tokens: list[_Token] = []
    literal: list[str] = []

    def flush() -> None:
        if literal:
            tokens.append("".join(literal))
            literal.clear()

    index = 0
    length = len(text)
    while index < length:
        char = text[index]
        if variables and char == "$" and text.startswith("${", index):
            end = text.find("}", index + 2)
            if end < 0:
                raise ValueError(
                    f"policy variable at {text[index:]!r} has no closing '}}'; "
                    "write ${key}, or ${$} for a literal '$'"
                )
            body = text[index + 2 : end]
            if body in _ESCAPES:
                literal.append(_ESCAPES[body])
            else:
                match = _VARIABLE_BODY.fullmatch(body)
                if match is None:
                    raise ValueError(
                        f"policy variable ${{{body}}} is not valid; write ${{key}} or "
                        "${key, 'default'}, e.g. ${aws:username}"
                    )
                flush()
                tokens.append(_Variable(match.group(1).lower(), match.group(2)))
            index = end + 1
            continue
        if wildcards and char in "*?":
            flush()
            tokens.append(_Wildcard.STAR if char == "*" else _Wildcard.QUESTION)
        else:
            literal.append(char)
        index += 1
    flush()
    return tuple(tokens)


def _regex_source(tokens: tuple[_Token, ...], style: MatchStyle) -> str:
    """Translate resolved tokens (no variables left) into a regular expression source."""
    parts: list[str] = []
    if style is MatchStyle.ARN:
        total_colons = sum(token.count(":") for token in tokens if isinstance(token, str))
        colons_seen = 0
    for position, token in enumerate(tokens):
        if isinstance(token, str):
            parts.append(re.escape(token))
            if style is MatchStyle.ARN:
                colons_seen += token.count(":")
            continue
        assert isinstance(token, _Wildcard)
        if style is MatchStyle.ARN:
            # Components before the pattern's last colon hold no colon; the last one may.
            within_last = colons_seen >= min(total_colons, 5)
            if token is _Wildcard.STAR:
                parts.append(".*" if within_last else "[^:]*")
            else:
                parts.append("." if within_last else "[^:]")
        elif style is MatchStyle.RESOURCE and token is _Wildcard.STAR:
            following = tokens[position + 1] if position + 1 < len(tokens) else None
            ends_segment = following is None or (
                isinstance(following, str) and following.startswith(":")
            )
            parts.append(".*" if ends_segment else "[^:]*")
        else:
            parts.append(".*" if token is _Wildcard.STAR else ".")
    return "".join(parts)


def _flags(style: MatchStyle) -> int:
    return re.DOTALL | (re.IGNORECASE if style is MatchStyle.ACTION else 0)


@functools.lru_cache(maxsize=4096)
def _compile_cached(source: str, flags: int) -> re.Pattern[str]:
    # Only strings with policy variables get here, once per distinct resolved value.
    return re.compile(source, flags)


class PolicyString:
    """One compiled policy string: test it against request values with :meth:`matches`.

    Build with :func:`compile_string`. Immutable and safe to share between threads.
    """

    __slots__ = ("_literal", "_regex", "_style", "_tokens", "has_variables", "text")

    def __init__(self, text: str, style: MatchStyle, tokens: tuple[_Token, ...]) -> None:
        self.text = text
        self._style = style
        self._tokens = tokens
        self.has_variables = any(isinstance(token, _Variable) for token in tokens)
        self._literal: str | None = None
        self._regex: re.Pattern[str] | None = None
        if self.has_variables:
            return
        if style in _GLOB_STYLES and any(isinstance(t, _Wildcard) for t in tokens):
            self._regex = re.compile(_regex_source(tokens, style), _flags(style))
        else:
            literal = "".join(token for token in tokens if isinstance(token, str))
            ignore_case = style in (MatchStyle.EXACT_IGNORE_CASE, MatchStyle.ACTION)
            self._literal = literal.casefold() if ignore_case else literal

    @property
    def is_match_all(self) -> bool:
        """Whether this string is a lone ``*`` that matches every value."""
        return self._tokens == (_Wildcard.STAR,)

    @property
    def literal(self) -> str | None:
        """The exact value this string stands for, when it has no wildcard and no variable.

        Case-folded for the styles that ignore case.
        """
        return self._literal

    def _resolve(self, context: Context) -> tuple[_Token, ...] | None:
        resolved: list[_Token] = []
        for token in self._tokens:
            if isinstance(token, _Variable):
                values = context.get(token.key)
                if values is not None and len(values) == 1:
                    resolved.append(values[0])
                elif token.default is not None:
                    resolved.append(token.default)
                else:
                    # AWS: a variable without a (single) value matches nothing.
                    return None
            else:
                resolved.append(token)
        return tuple(resolved)

    def matcher(self, context: Context) -> str | re.Pattern[str] | None:
        """This string with its variables resolved: a literal or a regular expression.

        Args:
            context: The normalized request context.

        Returns:
            The literal (case-folded for case-insensitive styles), the compiled expression, or
            ``None`` when a policy variable has no value in the context.
        """
        if self._regex is not None:
            return self._regex
        if self._literal is not None:
            return self._literal
        tokens = self._resolve(context)
        if tokens is None:
            return None
        if self._style in _GLOB_STYLES and any(isinstance(t, _Wildcard) for t in tokens):
            return _compile_cached(_regex_source(tokens, self._style), _flags(self._style))
        literal = "".join(token for token in tokens if isinstance(token, str))
        if self._style in (MatchStyle.EXACT_IGNORE_CASE, MatchStyle.ACTION):
            return literal.casefold()
        return literal

    def matches(self, value: str, context: Context) -> bool | None:
        """Whether ``value`` matches this string.

        Args:
            value: The request value (an action name, an ARN, a context value).
            context: The normalized request context, for policy variables.

        Returns:
            ``True``/``False``, or ``None`` when a policy variable has no value — the caller
            decides what an unresolvable string means where it stands.
        """
        matcher = self.matcher(context)
        if matcher is None:
            return None
        return self.test(matcher, value)

    def test(self, matcher: str | re.Pattern[str], value: str) -> bool:
        """Compare ``value`` with a matcher this string produced through :meth:`matcher`.

        Lets a caller resolve the variables once and test many request values.
        """
        if self._style is MatchStyle.ARN and value.count(":") < 5:
            return False
        if isinstance(matcher, str):
            if self._style in (MatchStyle.EXACT_IGNORE_CASE, MatchStyle.ACTION):
                return value.casefold() == matcher
            return value == matcher
        return matcher.fullmatch(value) is not None

    def __repr__(self) -> str:
        return f"PolicyString({self.text!r}, {self._style.value})"


def compile_string(text: str, style: MatchStyle, *, variables: bool) -> PolicyString:
    """Compile one policy string.

    Args:
        text: The string as written in the policy.
        style: How it is compared (see :class:`MatchStyle`).
        variables: Whether ``${…}`` is a policy variable (``"Version": "2012-10-17"``) or
            literal text (older or absent ``Version``).

    Returns:
        The compiled string.

    Raises:
        ValueError: A policy variable is malformed; the message says how to write it.
    """
    wildcards = style in _GLOB_STYLES
    return PolicyString(text, style, _tokenize(text, variables=variables, wildcards=wildcards))
