"""The ``Condition`` element: condition operators, ``…IfExists``, set qualifiers, AWS's logic.

A statement's conditions hold when every operator holds (AND), an operator holds when every
key under it holds (AND), and a key holds when the request value matches any of the policy
values (OR) — or, for a negated operator (``StringNotEquals``, ``ArnNotLike``, ``NotIpAddress``
…), when it matches none of them (NOR).

A key that is missing from the request context makes a positive operator false and a negated
one true; ``…IfExists`` makes a missing key true for both; ``Null`` tests presence itself.
``ForAllValues:`` holds when every request value passes (and so when there are none);
``ForAnyValue:`` when at least one does (and so never when there are none).

Policy variables are resolved in the values of the string, ARN and ``Bool`` operators only.
A policy value whose variable has no value matches nothing; under a negated operator it makes
the condition false, because AWS treats the statement as invalid rather than as "not equal".
"""

from __future__ import annotations

import base64
import binascii
import enum
import ipaddress
import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Final

from stepline.policy._errors import MalformedPolicyDocument
from stepline.policy._patterns import Context, MatchStyle, PolicyString, compile_string

__all__ = ["Condition", "conditions_hold", "parse_conditions"]


class _Family(enum.Enum):
    STRING = "string"
    ARN = "arn"
    BOOL = "bool"
    NUMERIC = "numeric"
    DATE = "date"
    IP = "ip"
    BINARY = "binary"
    NULL = "null"


@dataclass(frozen=True, slots=True)
class _Base:
    name: str
    family: _Family
    negated: bool
    style: MatchStyle | None = None  # string-like families
    compare: str | None = None  # numeric/date: eq, lt, le, gt, ge


_BASES: Final[tuple[_Base, ...]] = (
    _Base("StringEquals", _Family.STRING, False, MatchStyle.EXACT),
    _Base("StringNotEquals", _Family.STRING, True, MatchStyle.EXACT),
    _Base("StringEqualsIgnoreCase", _Family.STRING, False, MatchStyle.EXACT_IGNORE_CASE),
    _Base("StringNotEqualsIgnoreCase", _Family.STRING, True, MatchStyle.EXACT_IGNORE_CASE),
    _Base("StringLike", _Family.STRING, False, MatchStyle.LIKE),
    _Base("StringNotLike", _Family.STRING, True, MatchStyle.LIKE),
    # AWS: ArnEquals and ArnLike behave identically, as do their negations.
    _Base("ArnEquals", _Family.ARN, False, MatchStyle.ARN),
    _Base("ArnLike", _Family.ARN, False, MatchStyle.ARN),
    _Base("ArnNotEquals", _Family.ARN, True, MatchStyle.ARN),
    _Base("ArnNotLike", _Family.ARN, True, MatchStyle.ARN),
    _Base("Bool", _Family.BOOL, False, MatchStyle.EXACT_IGNORE_CASE),
    _Base("NumericEquals", _Family.NUMERIC, False, compare="eq"),
    _Base("NumericNotEquals", _Family.NUMERIC, True, compare="eq"),
    _Base("NumericLessThan", _Family.NUMERIC, False, compare="lt"),
    _Base("NumericLessThanEquals", _Family.NUMERIC, False, compare="le"),
    _Base("NumericGreaterThan", _Family.NUMERIC, False, compare="gt"),
    _Base("NumericGreaterThanEquals", _Family.NUMERIC, False, compare="ge"),
    _Base("DateEquals", _Family.DATE, False, compare="eq"),
    _Base("DateNotEquals", _Family.DATE, True, compare="eq"),
    _Base("DateLessThan", _Family.DATE, False, compare="lt"),
    _Base("DateLessThanEquals", _Family.DATE, False, compare="le"),
    _Base("DateGreaterThan", _Family.DATE, False, compare="gt"),
    _Base("DateGreaterThanEquals", _Family.DATE, False, compare="ge"),
    _Base("IpAddress", _Family.IP, False),
    _Base("NotIpAddress", _Family.IP, True),
    _Base("BinaryEquals", _Family.BINARY, False),
    _Base("Null", _Family.NULL, False),
)
_BASE_BY_LOWER: Final = {base.name.lower(): base for base in _BASES}
_QUALIFIERS: Final = {"foranyvalue": "ForAnyValue", "forallvalues": "ForAllValues"}
_VARIABLE_FAMILIES: Final = frozenset({_Family.STRING, _Family.ARN, _Family.BOOL})
_IF_EXISTS: Final = "ifexists"

_Compare = Callable[[str], bool | None]
"""Compares one request value; ``None`` when the value cannot be compared (not a number…)."""


@dataclass(frozen=True, slots=True)
class Condition:
    """One condition key under one operator, compiled.

    Attributes:
        operator: The operator as written, e.g. ``ForAnyValue:StringLikeIfExists``.
        key: The condition key as written, e.g. ``states:HTTPMethod``.
        values: The policy values, as strings.
    """

    operator: str
    key: str
    values: tuple[str, ...]
    _key_lower: str = field(repr=False)
    _family: _Family = field(repr=False)
    _negated: bool = field(repr=False)
    _if_exists: bool = field(repr=False)
    _qualifier: str | None = field(repr=False)
    _strings: tuple[PolicyString, ...] = field(repr=False)
    _compare: _Compare | None = field(repr=False)
    _null_expects_absent: frozenset[bool] = field(repr=False)

    def holds(self, context: Context) -> bool:
        """Whether this condition holds for the request.

        Args:
            context: The normalized request context.

        Returns:
            The condition's truth value under AWS's rules.
        """
        request_values = context.get(self._key_lower)
        if self._family is _Family.NULL:
            return (request_values is None) in self._null_expects_absent
        if request_values is None:
            if self._if_exists or self._qualifier == "ForAllValues":
                return True
            if self._qualifier == "ForAnyValue":
                return False
            return self._negated
        if self._strings:
            matchers = [string.matcher(context) for string in self._strings]
            if self._negated and None in matchers:
                return False
            compare = _string_compare(self._strings, matchers)
        else:
            assert self._compare is not None
            compare = self._compare
        passes = (_negate if self._negated else _affirm)(compare)
        if self._qualifier == "ForAnyValue" or (self._qualifier is None and not self._negated):
            return any(passes(value) for value in request_values)
        return all(passes(value) for value in request_values)


def _affirm(compare: _Compare) -> Callable[[str], bool]:
    return lambda value: compare(value) is True


def _negate(compare: _Compare) -> Callable[[str], bool]:
    # A value that cannot be compared passes neither way: the condition fails closed.
    return lambda value: compare(value) is False


def _string_compare(
    strings: tuple[PolicyString, ...], matchers: list[str | re.Pattern[str] | None]
) -> _Compare:
    pairs = [(s, m) for s, m in zip(strings, matchers, strict=True) if m is not None]

    def compare(value: str) -> bool:
        return any(string.test(matcher, value) for string, matcher in pairs)

    return compare


def conditions_hold(conditions: Sequence[Condition], context: Context) -> bool:
    """Whether every condition of a statement holds (AWS ANDs operators and keys)."""
    return all(condition.holds(context) for condition in conditions)


# --- parsing ---------------------------------------------------------------------------------


def _malformed(where: str, problem: str) -> MalformedPolicyDocument:
    return MalformedPolicyDocument(f"{where}: {problem}")


def _parse_operator(name: str, where: str) -> tuple[_Base, bool, str | None]:
    qualifier: str | None = None
    rest = name
    if ":" in name:
        prefix, rest = name.split(":", 1)
        qualifier = _QUALIFIERS.get(prefix.lower())
        if qualifier is None:
            raise _malformed(
                where,
                f"{prefix!r} is not a set qualifier; use ForAnyValue: or ForAllValues: "
                "(or no qualifier)",
            )
    lower = rest.lower()
    if_exists = lower.endswith(_IF_EXISTS) and lower not in _BASE_BY_LOWER
    if if_exists:
        lower = lower[: -len(_IF_EXISTS)]
    base = _BASE_BY_LOWER.get(lower)
    if base is None:
        raise _malformed(
            where,
            f"{name!r} is not a condition operator; use one of StringEquals, StringLike, "
            "ArnLike, Bool, NumericLessThan, DateGreaterThan, IpAddress, Null … "
            "(optionally with IfExists, ForAnyValue: or ForAllValues:)",
        )
    if base.family is _Family.NULL and (if_exists or qualifier):
        raise _malformed(
            where, "Null takes neither IfExists nor a set qualifier; it tests presence itself"
        )
    return base, if_exists, qualifier


def _value_strings(raw: object, where: str) -> tuple[str, ...]:
    items = raw if isinstance(raw, list) else [raw]
    if isinstance(raw, list) and not raw:
        raise _malformed(where, "the list of values is empty; give at least one value")
    values: list[str] = []
    for item in items:
        if isinstance(item, bool):
            values.append("true" if item else "false")
        elif isinstance(item, str):
            values.append(item)
        elif isinstance(item, int):
            try:
                values.append(str(item))
            except ValueError:  # more digits than Python will print
                raise _malformed(where, "the number has too many digits") from None
        elif isinstance(item, float) and math.isfinite(item):
            values.append(repr(item))
        else:
            raise _malformed(where, "value must be a string, number or boolean, or a list of them")
    return tuple(values)


def _parse_decimal(text: str) -> Decimal | None:
    try:
        number = Decimal(text.strip())
    except (InvalidOperation, ValueError):
        return None
    return number if number.is_finite() else None


def _parse_date(text: str) -> datetime | None:
    text = text.strip()
    number = _parse_decimal(text)
    try:
        if number is not None:
            moment = datetime.fromtimestamp(float(number), UTC)
        else:
            moment = datetime.fromisoformat(text)
    except (ValueError, OverflowError, OSError):
        return None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _ordered(op: str) -> Callable[[object, object], bool]:
    table: dict[str, Callable[[object, object], bool]] = {
        "eq": lambda a, b: a == b,
        "lt": lambda a, b: a < b,  # type: ignore[operator]
        "le": lambda a, b: a <= b,  # type: ignore[operator]
        "gt": lambda a, b: a > b,  # type: ignore[operator]
        "ge": lambda a, b: a >= b,  # type: ignore[operator]
    }
    return table[op]


def _scalar_compare(base: _Base, values: tuple[str, ...], where: str) -> _Compare:
    if base.family in (_Family.NUMERIC, _Family.DATE):
        parse: Callable[[str], object | None] = (
            _parse_decimal if base.family is _Family.NUMERIC else _parse_date
        )
        limits = []
        for value in values:
            parsed = parse(value)
            if parsed is None:
                kind = "a number" if base.family is _Family.NUMERIC else "an ISO 8601 date"
                raise _malformed(where, f"{value!r} is not {kind}; {base.name} compares {kind}s")
            limits.append(parsed)
        relation = _ordered(base.compare or "eq")

        def compare_ordered(value: str) -> bool | None:
            parsed = parse(value)
            if parsed is None:
                return None
            return any(relation(parsed, limit) for limit in limits)

        return compare_ordered
    if base.family is _Family.IP:
        networks = []
        for value in values:
            try:
                networks.append(ipaddress.ip_network(value.strip(), strict=False))
            except ValueError:
                raise _malformed(
                    where, f"{value!r} is not an IP address or CIDR range, e.g. 203.0.113.0/24"
                ) from None

        def compare_ip(value: str) -> bool | None:
            try:
                address = ipaddress.ip_address(value.strip())
            except ValueError:
                return None
            return any(address in network for network in networks)

        return compare_ip
    # BinaryEquals: the policy holds base64; the request value is base64 too.
    blobs = []
    for value in values:
        try:
            blobs.append(base64.b64decode(value, validate=True))
        except (binascii.Error, ValueError):
            raise _malformed(where, f"{value!r} is not base64; BinaryEquals takes base64") from None

    def compare_binary(value: str) -> bool | None:
        try:
            return base64.b64decode(value, validate=True) in blobs
        except (binascii.Error, ValueError):
            return None

    return compare_binary


def _compile_condition(
    operator: str, key: str, raw: object, *, where: str, variables: bool
) -> Condition:
    base, if_exists, qualifier = _parse_operator(operator, where)
    if not key or ":" not in key or key.startswith(":"):
        raise _malformed(
            where,
            f"condition key {key!r} has no vendor prefix; Actions/Conditions must be prefaced "
            "by a vendor, e.g. aws:username or states:HTTPMethod",
        )
    values = _value_strings(raw, f"{where}.{key}")
    strings: tuple[PolicyString, ...] = ()
    compare: _Compare | None = None
    null_expects: frozenset[bool] = frozenset()
    if base.family is _Family.NULL:
        flags = set()
        for value in values:
            if value.lower() not in ("true", "false"):
                raise _malformed(
                    f"{where}.{key}",
                    f"{value!r} is not true or false; Null takes true (key absent) or false",
                )
            flags.add(value.lower() == "true")
        null_expects = frozenset(flags)
    elif base.style is not None:
        use_variables = variables and base.family in _VARIABLE_FAMILIES
        try:
            strings = tuple(
                compile_string(value, base.style, variables=use_variables) for value in values
            )
        except ValueError as error:
            raise _malformed(f"{where}.{key}", str(error)) from None
    else:
        compare = _scalar_compare(base, values, f"{where}.{key}")
    return Condition(
        operator=operator,
        key=key,
        values=values,
        _key_lower=key.lower(),
        _family=base.family,
        _negated=base.negated,
        _if_exists=if_exists,
        _qualifier=qualifier,
        _strings=strings,
        _compare=compare,
        _null_expects_absent=null_expects,
    )


def parse_conditions(raw: object, *, where: str, variables: bool) -> tuple[Condition, ...]:
    """Parse and compile a statement's ``Condition`` element.

    Args:
        raw: The ``Condition`` value from the document.
        where: Its location, e.g. ``Statement[1].Condition``, for error messages.
        variables: Whether policy variables are in force (``"Version": "2012-10-17"``).

    Returns:
        One :class:`Condition` per (operator, key) pair, in document order.

    Raises:
        MalformedPolicyDocument: The element does not follow the grammar.
    """
    if not isinstance(raw, Mapping):
        raise _malformed(
            where,
            'must be an object mapping operators to keys, e.g. {"StringEquals": '
            '{"states:HTTPMethod": "GET"}}',
        )
    conditions: list[Condition] = []
    for operator, block in raw.items():
        at = f"{where}.{operator}"
        if not isinstance(block, Mapping):
            raise _malformed(
                at,
                "must be an object mapping condition keys to values, e.g. "
                '{"states:HTTPMethod": "GET"}',
            )
        if not block:
            raise _malformed(at, "names no condition key; add one or remove the operator")
        for key, value in block.items():
            conditions.append(
                _compile_condition(str(operator), str(key), value, where=at, variables=variables)
            )
    return tuple(conditions)
