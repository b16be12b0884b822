"""Parse, validate and compile IAM policy documents into immutable :class:`Policy` objects.

Identity-based policies (the ones attached to an execution role) follow AWS's grammar:
``Version`` (``"2012-10-17"``; ``"2008-10-17"`` or none means policy variables are plain text),
an optional ``Id``, and ``Statement`` — one object or a non-empty list. Each statement has an
``Effect``, exactly one of ``Action``/``NotAction``, exactly one of ``Resource``/``NotResource``,
an optional ``Sid`` and an optional ``Condition``; ``Principal`` belongs to resource and trust
policies and is refused here, as IAM does.

Everything that can be prepared is prepared here, once: wildcards become regular expressions,
exact names go into sets, condition operators are looked up. Errors are
:class:`~stepline.policy.MalformedPolicyDocument` with the location first, e.g.
``Statement[1].Condition.StringLike.states:HTTPEndpoint: …``.
"""

from __future__ import annotations

import enum
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Final

from stepline.policy._conditions import Condition, conditions_hold, parse_conditions
from stepline.policy._errors import MalformedPolicyDocument
from stepline.policy._patterns import Context, MatchStyle, PolicyString, compile_string

__all__ = [
    "POLICY_LANGUAGE_VERSIONS",
    "Effect",
    "Policy",
    "Statement",
    "parse_policy",
    "validate_trust_policy",
]

POLICY_LANGUAGE_VERSIONS: Final = ("2012-10-17", "2008-10-17")
_VARIABLES_VERSION: Final = "2012-10-17"
_TOP_LEVEL: Final = frozenset({"Version", "Id", "Statement"})
_IDENTITY_KEYS: Final = frozenset(
    {"Sid", "Effect", "Action", "NotAction", "Resource", "NotResource", "Condition"}
)
_TRUST_KEYS: Final = frozenset(
    {"Sid", "Effect", "Principal", "NotPrincipal", "Action", "NotAction", "Condition"}
)
_SID: Final = re.compile(r"[0-9A-Za-z]*")
_ACTION: Final = re.compile(r"[A-Za-z0-9-]+:\S+")
# Lenient on purpose: real policies say "arn:aws:logs:*" and IAM takes them; what IAM refuses
# with "must be in ARN format" is a bare name.
_ARN_LIKE: Final = re.compile(r"arn:[^:]*:[^:]+(?::.*)?", re.DOTALL)
_PRINCIPAL_TYPES: Final = frozenset({"AWS", "Service", "Federated", "CanonicalUser"})
_ACTION_CACHE_LIMIT: Final = 1024


class Effect(enum.Enum):
    """A statement's effect."""

    ALLOW = "Allow"
    DENY = "Deny"


def _malformed(where: str, problem: str) -> MalformedPolicyDocument:
    return MalformedPolicyDocument(f"{where}: {problem}")


class _ElementMatcher:
    """The compiled ``Action``/``NotAction`` or ``Resource``/``NotResource`` list."""

    __slots__ = ("_dynamic", "_literals", "_match_all", "_regex", "_style")

    def __init__(self, strings: Sequence[PolicyString], style: MatchStyle) -> None:
        self._style = style
        self._match_all = any(string.is_match_all for string in strings)
        self._literals = frozenset(
            string.literal for string in strings if string.literal is not None
        )
        static = [
            string.matcher({})
            for string in strings
            if not string.has_variables and string.literal is None
        ]
        regexes = [matcher for matcher in static if isinstance(matcher, re.Pattern)]
        # One alternation instead of a loop over patterns: a single fullmatch per request.
        self._regex = (
            re.compile("|".join(f"(?:{r.pattern})" for r in regexes), regexes[0].flags)
            if regexes
            else None
        )
        self._dynamic = tuple(string for string in strings if string.has_variables)

    def hit(self, value: str, context: Context) -> bool | None:
        """Whether any listed string matches; ``None`` if not and some variable was unresolved."""
        if self._match_all:
            return True
        key = value.casefold() if self._style is MatchStyle.ACTION else value
        if key in self._literals:
            return True
        if self._regex is not None and self._regex.fullmatch(value) is not None:
            return True
        unresolved = False
        for string in self._dynamic:
            result = string.matches(value, context)
            if result:
                return True
            unresolved = unresolved or result is None
        return None if unresolved else False


@dataclass(frozen=True, slots=True, eq=False)
class Statement:
    """One compiled statement.

    Attributes:
        index: Position in the document's ``Statement`` list (0 for a lone object).
        sid: The ``Sid``, if any.
        effect: ``Allow`` or ``Deny``.
        actions: The ``Action`` (or ``NotAction``) strings as written.
        not_action: Whether they came from ``NotAction``.
        resources: The ``Resource`` (or ``NotResource``) strings as written.
        not_resource: Whether they came from ``NotResource``.
        conditions: The compiled ``Condition`` element.
        location: Where the statement sits, e.g. ``Statement[1]``.
    """

    index: int
    sid: str | None
    effect: Effect
    actions: tuple[str, ...]
    not_action: bool
    resources: tuple[str, ...]
    not_resource: bool
    conditions: tuple[Condition, ...]
    location: str
    _action_matcher: _ElementMatcher = field(repr=False)
    _resource_matcher: _ElementMatcher = field(repr=False)

    def covers_action(self, action: str) -> bool:
        """Whether the ``Action``/``NotAction`` element admits ``action``."""
        hit = self._action_matcher.hit(action, {})
        return not hit if self.not_action else bool(hit)

    def applies(self, resource: str, context: Context) -> bool:
        """Whether the statement applies to ``resource`` in ``context`` (action already checked).

        A policy variable without a value in ``NotResource`` makes the statement not apply:
        AWS treats such a statement as invalid rather than as "matches nothing".
        """
        hit = self._resource_matcher.hit(resource, context)
        if self.not_resource:
            if hit is not False:
                return False
        elif not hit:
            return False
        return conditions_hold(self.conditions, context)

    def describe(self) -> str:
        """A short human label: ``statement "AllowStripe" (Statement[1])``."""
        return f'statement "{self.sid}" ({self.location})' if self.sid else self.location


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class Policy:
    """A compiled identity-based policy. Immutable; safe to share between threads.

    Attributes:
        statements: The statements, in document order.
        version: The ``Version`` element, or ``None`` when absent.
        policy_id: The ``Id`` element, if any.
        name: A label for messages and decisions (e.g. an inline policy's name or a managed
            policy's ARN), set by whoever loaded the policy.
    """

    statements: tuple[Statement, ...]
    version: str | None = None
    policy_id: str | None = None
    name: str | None = None
    _by_action: dict[str, tuple[Statement, ...]] = field(
        default_factory=dict, repr=False, compare=False
    )

    def statements_for(self, action: str) -> tuple[Statement, ...]:
        """The statements whose action element admits ``action``, ``Deny`` statements first.

        Cached per action name (case-insensitively), since a workflow asks for the same few
        actions over and over.
        """
        key = action.casefold()
        cached = self._by_action.get(key)
        if cached is not None:
            return cached
        covering = [s for s in self.statements if s.covers_action(action)]
        ordered = tuple(sorted(covering, key=lambda statement: statement.effect is not Effect.DENY))
        if len(self._by_action) >= _ACTION_CACHE_LIMIT:
            self._by_action.clear()
        self._by_action[key] = ordered
        return ordered

    def with_name(self, name: str) -> Policy:
        """The same compiled policy under another label."""
        return replace(self, name=name, _by_action={})

    def describe(self) -> str:
        """The label, or ``policy`` when none was given."""
        return self.name or "policy"

    def __repr__(self) -> str:
        return f"Policy(name={self.name!r}, statements={len(self.statements)})"


# --- parsing ---------------------------------------------------------------------------------


def _load(document: str | Mapping[str, object]) -> Mapping[str, object]:
    if isinstance(document, str):

        def refuse_constant(name: str) -> object:
            raise ValueError(f"{name} is not JSON")

        try:
            loaded = json.loads(document, parse_constant=refuse_constant)
        except json.JSONDecodeError as error:
            raise MalformedPolicyDocument(
                f"Syntax errors in policy: {error.msg} at line {error.lineno} column "
                f"{error.colno}; the document must be a JSON object"
            ) from None
        except (ValueError, RecursionError) as error:
            reason = "it nests too deeply" if isinstance(error, RecursionError) else str(error)
            raise MalformedPolicyDocument(
                f"Syntax errors in policy: {reason}; the document must be a JSON object"
            ) from None
        document = loaded
    if not isinstance(document, Mapping):
        raise MalformedPolicyDocument(
            "Syntax errors in policy: the document must be a JSON object with Version and "
            f"Statement, not a {type(document).__name__}"
        )
    return document


def _version(document: Mapping[str, object]) -> str | None:
    for key in document:
        if key not in _TOP_LEVEL:
            raise _malformed(
                "Policy",
                f"unknown element {key!r}; a policy document has Version, Id and Statement",
            )
    version = document.get("Version")
    if version is None and "Version" not in document:
        return None
    if version not in POLICY_LANGUAGE_VERSIONS:
        raise _malformed(
            "Version",
            f'{version!r} is not a policy language version; use "2012-10-17" (or the '
            'older "2008-10-17")',
        )
    assert isinstance(version, str)
    return version


def _statements(document: Mapping[str, object]) -> list[tuple[str, int, Mapping[str, object]]]:
    if "Statement" not in document:
        raise _malformed("Policy", "missing required element Statement")
    raw = document["Statement"]
    if isinstance(raw, Mapping):
        return [("Statement", 0, raw)]
    if not isinstance(raw, list):
        raise _malformed("Statement", "must be an object or a list of objects")
    if not raw:
        raise _malformed("Statement", "the list is empty; a policy needs at least one statement")
    result = []
    for index, item in enumerate(raw):
        if not isinstance(item, Mapping):
            raise _malformed(f"Statement[{index}]", "must be an object")
        result.append((f"Statement[{index}]", index, item))
    return result


def _string_list(raw: object, where: str) -> tuple[str, ...]:
    if isinstance(raw, str):
        return (raw,)
    if isinstance(raw, list):
        if not raw:
            raise _malformed(where, "the list is empty; give at least one value")
        if all(isinstance(item, str) for item in raw):
            return tuple(raw)
    raise _malformed(where, "value must be a string or a list of strings")


def _check_sid(statement: Mapping[str, object], where: str, seen: set[str]) -> str | None:
    sid = statement.get("Sid")
    if sid is None and "Sid" not in statement:
        return None
    if not isinstance(sid, str):
        raise _malformed(f"{where}.Sid", "value must be a string")
    if _SID.fullmatch(sid) is None:
        raise _malformed(
            f"{where}.Sid",
            f"Statement IDs (SID) must be alpha-numeric; {sid!r} is not (use [0-9A-Za-z]*)",
        )
    if sid and sid in seen:
        raise _malformed(
            f"{where}.Sid",
            f"Statement IDs (SID) in a single policy must be unique; {sid!r} is repeated",
        )
    if sid:
        seen.add(sid)
    return sid or None


def _check_effect(statement: Mapping[str, object], where: str) -> Effect:
    if "Effect" not in statement:
        raise _malformed(where, 'missing required element Effect ("Allow" or "Deny")')
    effect = statement["Effect"]
    if effect == "Allow":
        return Effect.ALLOW
    if effect == "Deny":
        return Effect.DENY
    raise _malformed(f"{where}.Effect", f'must be "Allow" or "Deny", got {effect!r}')


def _either(
    statement: Mapping[str, object], where: str, positive: str, negative: str, missing: str
) -> tuple[str, object]:
    has_positive, has_negative = positive in statement, negative in statement
    if has_positive and has_negative:
        raise _malformed(where, f"has both {positive} and {negative}; keep exactly one")
    if not has_positive and not has_negative:
        raise _malformed(where, f"{missing} (add {positive} or {negative})")
    name = positive if has_positive else negative
    return name, statement[name]


def _actions(statement: Mapping[str, object], where: str) -> tuple[str, tuple[str, ...]]:
    name, raw = _either(
        statement, where, "Action", "NotAction", "Policy statement must contain actions"
    )
    actions = _string_list(raw, f"{where}.{name}")
    for action in actions:
        if action != "*" and _ACTION.fullmatch(action) is None:
            raise _malformed(
                f"{where}.{name}",
                f"{action!r}: Actions/Conditions must be prefaced by a vendor, e.g., iam, "
                "sdb, ec2, etc. (write service:Action, e.g. states:InvokeHTTPEndpoint)",
            )
    return name, actions


def _resources(statement: Mapping[str, object], where: str) -> tuple[str, tuple[str, ...]]:
    name, raw = _either(
        statement, where, "Resource", "NotResource", "Policy statement must contain resources"
    )
    resources = _string_list(raw, f"{where}.{name}")
    for resource in resources:
        if resource != "*" and _ARN_LIKE.fullmatch(resource) is None:
            raise _malformed(f"{where}.{name}", f'Resource {resource} must be in ARN format or "*"')
    return name, resources


def _compile_all(
    texts: tuple[str, ...], style: MatchStyle, *, variables: bool, where: str
) -> tuple[PolicyString, ...]:
    try:
        return tuple(compile_string(text, style, variables=variables) for text in texts)
    except ValueError as error:
        raise _malformed(where, str(error)) from None


def _statement(
    raw: Mapping[str, object], where: str, index: int, variables: bool, sids: set[str]
) -> Statement:
    for key in raw:
        if key in ("Principal", "NotPrincipal"):
            raise _malformed(
                where,
                "Policy document should not specify a principal; an identity-based policy "
                f"applies to the role it is attached to, so remove {key}",
            )
        if key not in _IDENTITY_KEYS:
            raise _malformed(
                where,
                f"unknown element {key!r}; a statement has Sid, Effect, Action or NotAction, "
                "Resource or NotResource, and Condition",
            )
    sid = _check_sid(raw, where, sids)
    effect = _check_effect(raw, where)
    action_name, actions = _actions(raw, where)
    resource_name, resources = _resources(raw, where)
    conditions: tuple[Condition, ...] = ()
    if "Condition" in raw:
        conditions = parse_conditions(
            raw["Condition"], where=f"{where}.Condition", variables=variables
        )
    # Policy variables never apply to actions; only to resources and condition values.
    action_strings = _compile_all(
        actions, MatchStyle.ACTION, variables=False, where=f"{where}.{action_name}"
    )
    resource_strings = _compile_all(
        resources, MatchStyle.RESOURCE, variables=variables, where=f"{where}.{resource_name}"
    )
    return Statement(
        index=index,
        sid=sid,
        effect=effect,
        actions=actions,
        not_action=action_name == "NotAction",
        resources=resources,
        not_resource=resource_name == "NotResource",
        conditions=conditions,
        location=where,
        _action_matcher=_ElementMatcher(action_strings, MatchStyle.ACTION),
        _resource_matcher=_ElementMatcher(resource_strings, MatchStyle.RESOURCE),
    )


def parse_policy(document: str | Mapping[str, object], *, name: str | None = None) -> Policy:
    """Parse, validate and compile an identity-based policy document.

    Args:
        document: The JSON text, or the already-decoded mapping.
        name: A label for messages and decisions, e.g. ``inline policy "CallStripe"``.

    Returns:
        The compiled, immutable policy.

    Raises:
        MalformedPolicyDocument: The document does not follow the IAM grammar; the message
            starts with where (``Statement[1].Resource: …``) and says what to write instead.
    """
    loaded = _load(document)
    version = _version(loaded)
    policy_id = loaded.get("Id")
    if policy_id is not None and not isinstance(policy_id, str):
        raise _malformed("Id", "value must be a string")
    variables = version == _VARIABLES_VERSION
    sids: set[str] = set()
    statements = tuple(
        _statement(raw, where, index, variables, sids) for where, index, raw in _statements(loaded)
    )
    return Policy(statements=statements, version=version, policy_id=policy_id, name=name)


def _check_principal(raw: object, where: str) -> None:
    if raw == "*":
        return
    if not isinstance(raw, Mapping) or not raw:
        raise _malformed(
            where,
            'must be "*" or an object such as {"Service": "states.amazonaws.com"}',
        )
    for kind, value in raw.items():
        if kind not in _PRINCIPAL_TYPES:
            raise _malformed(
                f"{where}.{kind}",
                "unknown principal type; use AWS, Service, Federated or CanonicalUser",
            )
        _string_list(value, f"{where}.{kind}")


def validate_trust_policy(document: str | Mapping[str, object]) -> None:
    """Validate a role's trust (assume-role) policy: a resource-based policy with principals.

    Args:
        document: The JSON text or the decoded mapping.

    Raises:
        MalformedPolicyDocument: The document is not a valid trust policy.
    """
    loaded = _load(document)
    version = _version(loaded)
    sids: set[str] = set()
    for where, _index, raw in _statements(loaded):
        for key in raw:
            if key in ("Resource", "NotResource"):
                raise _malformed(
                    where,
                    f"Has prohibited field {key}; a trust policy names who may assume the role "
                    "(Principal), not resources",
                )
            if key not in _TRUST_KEYS:
                raise _malformed(
                    where,
                    f"unknown element {key!r}; a trust policy statement has Sid, Effect, "
                    "Principal or NotPrincipal, Action or NotAction, and Condition",
                )
        _check_sid(raw, where, sids)
        _check_effect(raw, where)
        name, principal = _either(
            raw, where, "Principal", "NotPrincipal", "Missing required field Principal"
        )
        _check_principal(principal, f"{where}.{name}")
        _actions(raw, where)
        if "Condition" in raw:
            parse_conditions(
                raw["Condition"],
                where=f"{where}.Condition",
                variables=version == _VARIABLES_VERSION,
            )
