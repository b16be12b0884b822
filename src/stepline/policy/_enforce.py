"""Enforce an execution role's policies before a call, with AWS's access-denied message.

The HTTP Task asks :meth:`PolicyEnforcer.check` before every request (``states:InvokeHTTPEndpoint``
on the state machine, ``events:RetrieveConnectionCredentials`` on the connection …). A role that
stepline knows is evaluated; a role it does not know is let through — unless the operator asked
for ``STEPLINE_IAM=strict``, where an unknown role is refused too. ``STEPLINE_IAM=off`` turns
enforcement off entirely.
"""

from __future__ import annotations

import enum
import os
from collections.abc import Mapping

from stepline.policy._errors import IamError
from stepline.policy._evaluate import Decision, evaluate
from stepline.policy._roles import RoleIdentity, Roles

__all__ = ["ENVIRONMENT_VARIABLE", "AccessDenied", "EnforcementMode", "PolicyEnforcer"]

ENVIRONMENT_VARIABLE = "STEPLINE_IAM"
_DEFAULT_SESSION = "stepline"


class EnforcementMode(enum.Enum):
    """How :class:`PolicyEnforcer` treats requests (``STEPLINE_IAM``)."""

    PERMISSIVE = "permissive"
    """Evaluate roles stepline knows; let unknown roles through (the default)."""
    STRICT = "strict"
    """Evaluate roles stepline knows; refuse unknown roles."""
    OFF = "off"
    """Check nothing."""


class AccessDenied(IamError):
    """A request the execution role's policies do not allow.

    ``str()`` gives AWS's message followed by what to do; :attr:`message` is AWS's message
    alone (``User: arn:aws:sts::…:assumed-role/Role/session is not authorized to perform: …``).

    Attributes:
        action: The action that was refused.
        resource: The resource it was refused on.
        role_arn: The execution role.
        explicit: Whether a ``Deny`` statement refused it (rather than no ``Allow``).
        hint: What to do about it.
        decision: The evaluation result, when the role is known.
    """

    default_code = "AccessDenied"

    def __init__(
        self,
        message: str,
        *,
        action: str,
        resource: str,
        role_arn: str,
        explicit: bool,
        hint: str,
        decision: Decision | None = None,
    ) -> None:
        super().__init__(message)
        self.action = action
        self.resource = resource
        self.role_arn = role_arn
        self.explicit = explicit
        self.hint = hint
        self.decision = decision

    def __str__(self) -> str:
        return f"{self.message}. {self.hint}"


def _assumed_role_arn(role_arn: str, identity: RoleIdentity | None, session: str) -> str:
    if identity is not None:
        return (
            f"arn:{identity.partition}:sts::{identity.account}:assumed-role/"
            f"{identity.name}/{session}"
        )
    parts = role_arn.split(":", 5)
    if len(parts) == 6 and parts[2] == "iam" and parts[5].startswith("role/"):
        name = parts[5].rsplit("/", 1)[-1]
        return f"arn:{parts[1]}:sts::{parts[4]}:assumed-role/{name}/{session}"
    return role_arn


class PolicyEnforcer:
    """Checks execution-role permissions before each call.

    Args:
        roles: The role registry.
        strict: Refuse roles stepline does not know (instead of allowing them).
        mode: Overrides ``strict`` when given (e.g. :attr:`EnforcementMode.OFF`).
    """

    def __init__(
        self, roles: Roles, *, strict: bool = False, mode: EnforcementMode | None = None
    ) -> None:
        self.roles = roles
        self.mode = mode or (EnforcementMode.STRICT if strict else EnforcementMode.PERMISSIVE)

    @property
    def strict(self) -> bool:
        """Whether unknown roles are refused."""
        return self.mode is EnforcementMode.STRICT

    @classmethod
    def from_env(cls, roles: Roles, environ: Mapping[str, str] | None = None) -> PolicyEnforcer:
        """Build from ``STEPLINE_IAM``: ``strict``, ``permissive`` (or unset/empty), ``off``.

        Args:
            roles: The role registry.
            environ: The environment; defaults to ``os.environ``.

        Raises:
            ValueError: ``STEPLINE_IAM`` has another value.
        """
        env = os.environ if environ is None else environ
        raw = env.get(ENVIRONMENT_VARIABLE, "")
        value = raw.strip().lower()
        if not value:
            return cls(roles, mode=EnforcementMode.PERMISSIVE)
        for mode in EnforcementMode:
            if mode.value == value:
                return cls(roles, mode=mode)
        raise ValueError(
            f"{ENVIRONMENT_VARIABLE}={raw!r} is not a valid setting; use 'strict' (refuse roles "
            "stepline does not know), 'permissive' (the default: allow them) or 'off' (check "
            "nothing)."
        )

    def check(
        self,
        role_arn: str,
        action: str,
        resource: str,
        context: Mapping[str, str] | None = None,
        *,
        session_name: str = _DEFAULT_SESSION,
    ) -> None:
        """Raise :class:`AccessDenied` unless ``role_arn`` may perform ``action`` on ``resource``.

        The request context gets the role's principal keys unless the caller set them:
        ``aws:PrincipalArn``, ``aws:PrincipalAccount``, ``aws:PrincipalType``
        (``AssumedRole``), ``aws:userid`` (``<role id>:<session>``) and
        ``aws:PrincipalTag/<key>`` for each role tag.

        Args:
            role_arn: The execution role's ARN.
            action: E.g. ``states:InvokeHTTPEndpoint``.
            resource: E.g. the state machine ARN.
            context: Condition keys, e.g. ``{"states:HTTPMethod": "GET"}``.
            session_name: The role session name shown in the assumed-role ARN.

        Raises:
            AccessDenied: The policies do not allow it, or (strict) the role is unknown.
        """
        if self.mode is EnforcementMode.OFF:
            return
        policies = self.roles.policies_for(role_arn)
        identity = self.roles.role_identity(role_arn) if policies is not None else None
        user = _assumed_role_arn(role_arn, identity, session_name)
        if policies is None or identity is None:
            if not self.strict:
                return
            raise AccessDenied(
                f"User: {user} is not authorized to perform: {action} on resource: {resource} "
                f"because the role {role_arn} is unknown to stepline",
                action=action,
                resource=resource,
                role_arn=role_arn,
                explicit=False,
                hint=(
                    "Create the role with CreateRole (e.g. `aws iam create-role --role-name "
                    "<name> --assume-role-policy-document file://trust.json` against "
                    "stepline's endpoint) and give it a policy allowing the action, or unset "
                    f"{ENVIRONMENT_VARIABLE}=strict to let roles stepline does not know through"
                ),
            )
        full_context: dict[str, str | tuple[str, ...]] = {
            "aws:PrincipalArn": identity.arn,
            "aws:PrincipalAccount": identity.account,
            "aws:PrincipalType": "AssumedRole",
            "aws:userid": f"{identity.role_id}:{session_name}",
        }
        for key, value in identity.tags:
            full_context[f"aws:PrincipalTag/{key}"] = value
        if context:
            lowered = {key.lower() for key in context}
            full_context = {k: v for k, v in full_context.items() if k.lower() not in lowered}
            full_context.update(context)
        decision = evaluate(policies, action=action, resource=resource, context=full_context)
        if decision.allowed:
            return
        if decision.explicit_deny:
            raise AccessDenied(
                f"User: {user} is not authorized to perform: {action} on resource: {resource} "
                "with an explicit deny in an identity-based policy",
                action=action,
                resource=resource,
                role_arn=role_arn,
                explicit=True,
                decision=decision,
                hint=(
                    f"Denied by {decision.describe()}; change or remove that statement to "
                    "allow the call"
                ),
            )
        raise AccessDenied(
            f"User: {user} is not authorized to perform: {action} on resource: {resource} "
            f"because no identity-based policy allows the {action} action",
            action=action,
            resource=resource,
            role_arn=role_arn,
            explicit=False,
            decision=decision,
            hint=(
                f"Add a statement allowing {action} on {resource} (and any conditions it must "
                f"meet) to a policy of role {identity.name}: PutRolePolicy or AttachRolePolicy"
            ),
        )
