"""Decide a request against a principal's identity-based policies, as AWS does.

AWS's order for a single account without boundaries or session policies: an explicit ``Deny``
in any policy wins; otherwise an ``Allow`` in any policy allows; otherwise the request is
implicitly denied. Statement and policy order never matter.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from stepline.policy._document import Effect, Policy, Statement
from stepline.policy._patterns import normalize_context

__all__ = ["Decision", "Outcome", "evaluate"]


class Outcome(enum.Enum):
    """The three results of AWS's evaluation logic."""

    ALLOWED = "allowed"
    EXPLICIT_DENY = "explicit_deny"
    IMPLICIT_DENY = "implicit_deny"


@dataclass(frozen=True, slots=True)
class Decision:
    """The result of :func:`evaluate`, with the statement that decided it.

    Attributes:
        outcome: Allowed, explicitly denied or implicitly denied.
        policy: The policy holding the deciding statement (``None`` for an implicit deny).
        statement: The deciding statement (``None`` for an implicit deny).
    """

    outcome: Outcome
    policy: Policy | None = None
    statement: Statement | None = None

    @property
    def allowed(self) -> bool:
        """Whether the request may proceed."""
        return self.outcome is Outcome.ALLOWED

    @property
    def explicit_deny(self) -> bool:
        """Whether a ``Deny`` statement matched."""
        return self.outcome is Outcome.EXPLICIT_DENY

    @property
    def implicit_deny(self) -> bool:
        """Whether nothing allowed the request."""
        return self.outcome is Outcome.IMPLICIT_DENY

    def describe(self) -> str:
        """Which statement of which policy decided, for messages; empty for an implicit deny."""
        if self.policy is None or self.statement is None:
            return ""
        return f"{self.statement.describe()} of {self.policy.describe()}"


_IMPLICIT_DENY = Decision(Outcome.IMPLICIT_DENY)


def evaluate(
    policies: Sequence[Policy],
    *,
    action: str,
    resource: str,
    context: Mapping[str, str | Sequence[str]],
) -> Decision:
    """Evaluate a request against identity-based policies.

    Args:
        policies: The principal's compiled policies (inline and attached managed ones).
        action: The action, e.g. ``states:InvokeHTTPEndpoint`` (compared ignoring case).
        resource: The resource ARN (compared case-sensitively).
        context: Request context keys (compared ignoring case) to a value or a list of values,
            e.g. ``{"states:HTTPMethod": "GET"}``.

    Returns:
        The decision and, unless implicitly denied, the statement that made it.

    Raises:
        TypeError: A context value is neither a string nor a list of strings.
    """
    normalized = normalize_context(context)
    allow: Decision | None = None
    for policy in policies:
        for statement in policy.statements_for(action):
            if allow is not None and statement.effect is Effect.ALLOW:
                # Only a Deny can still change the outcome; the rest of this policy is Allows.
                break
            if not statement.applies(resource, normalized):
                continue
            if statement.effect is Effect.DENY:
                return Decision(Outcome.EXPLICIT_DENY, policy, statement)
            allow = Decision(Outcome.ALLOWED, policy, statement)
    return allow if allow is not None else _IMPLICIT_DENY
