"""``stepline.policy`` exports exactly its curated names."""

from __future__ import annotations

import importlib
import types

import stepline.policy as policy

EXPECTED = {
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
}


def test_all_is_the_curated_list() -> None:
    assert set(policy.__all__) == EXPECTED
    for name in policy.__all__:
        assert hasattr(policy, name)


def test_nothing_else_leaks() -> None:
    module = importlib.import_module("stepline.policy")
    leaked = {
        name
        for name, value in vars(module).items()
        if not name.startswith("_")
        and name not in module.__all__
        and not isinstance(value, types.ModuleType)
        and name != "annotations"
    }
    assert leaked == set()


def test_errors_share_one_base() -> None:
    for name in (
        "AccessDenied",
        "DeleteConflict",
        "EntityAlreadyExists",
        "InvalidInput",
        "LimitExceeded",
        "MalformedPolicyDocument",
        "NoSuchEntity",
        "ValidationError",
    ):
        assert issubclass(getattr(policy, name), policy.IamError)
