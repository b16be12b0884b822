"""IAM-style execution-role policies, evaluated AWS's way and enforced before every call.

* :func:`parse_policy` compiles an identity-based policy document into an immutable
  :class:`Policy` (wildcards, policy variables and conditions prepared once).
* :func:`evaluate` decides a request: an explicit ``Deny`` wins, then any ``Allow``, else an
  implicit deny — and says which statement decided (:class:`Decision`).
* :class:`Roles` is an in-memory IAM: roles, inline role policies, customer and AWS managed
  policies with versions, attachments — the IAM operations with AWS-shaped responses and
  AWS's error codes (:class:`IamError` and its subclasses).
* :class:`PolicyEnforcer` checks an execution role before each HTTP call and raises
  :class:`AccessDenied` with AWS's message; ``STEPLINE_IAM`` selects permissive (default),
  strict or off.

Pure Python: no I/O beyond what a caller passes in.
"""

from __future__ import annotations

from stepline.policy._aws_managed import DEFAULT_AWS_MANAGED_POLICIES, AwsManagedPolicy
from stepline.policy._conditions import Condition
from stepline.policy._document import (
    POLICY_LANGUAGE_VERSIONS,
    Effect,
    Policy,
    Statement,
    parse_policy,
    validate_trust_policy,
)
from stepline.policy._enforce import (
    ENVIRONMENT_VARIABLE,
    AccessDenied,
    EnforcementMode,
    PolicyEnforcer,
)
from stepline.policy._errors import (
    DeleteConflict,
    EntityAlreadyExists,
    IamError,
    InvalidInput,
    LimitExceeded,
    MalformedPolicyDocument,
    NoSuchEntity,
    ValidationError,
)
from stepline.policy._evaluate import Decision, Outcome, evaluate
from stepline.policy._roles import RoleIdentity, Roles

__all__ = [
    "DEFAULT_AWS_MANAGED_POLICIES",
    "ENVIRONMENT_VARIABLE",
    "POLICY_LANGUAGE_VERSIONS",
    "AccessDenied",
    "AwsManagedPolicy",
    "Condition",
    "Decision",
    "DeleteConflict",
    "Effect",
    "EnforcementMode",
    "EntityAlreadyExists",
    "IamError",
    "InvalidInput",
    "LimitExceeded",
    "MalformedPolicyDocument",
    "NoSuchEntity",
    "Outcome",
    "Policy",
    "PolicyEnforcer",
    "RoleIdentity",
    "Roles",
    "Statement",
    "ValidationError",
    "evaluate",
    "parse_policy",
    "validate_trust_policy",
]
