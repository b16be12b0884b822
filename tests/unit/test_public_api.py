"""The public API is explicit: each package's ``__all__`` is curated and importable."""

from __future__ import annotations

import importlib

import pytest

PUBLIC = {
    "stepline": {
        "Diagnostic",
        "ExecutionLogging",
        "ExecutionResult",
        "HistoryEvent",
        "InvalidDefinition",
        "InvalidExecutionInput",
        "StateMachine",
        "StatesError",
        "SystemClock",
        "TaskContext",
        "TaskRegistry",
        "TaskTokenError",
        "TaskTokens",
        "VirtualClock",
        "validate_definition",
    },
    "stepline.asl": {
        "CompiledDefinition",
        "DefinitionError",
        "Diagnostic",
        "InvalidDefinition",
        "StatesError",
        "compile_definition",
        "load_definition",
        "validate_definition",
    },
    "stepline.engine": {
        "DEFAULT_MAX_PAYLOAD_BYTES",
        "ActivityTask",
        "Clock",
        "Execution",
        "ExecutionIdentity",
        "HeartbeatSink",
        "HistoryEvent",
        "RedriveError",
        "Status",
        "SystemClock",
        "TaskEffect",
        "TaskInvoker",
        "TaskTokenError",
        "TaskTokens",
        "TimerEffect",
        "VirtualClock",
        "WaitingTask",
        "drive",
        "error_matches",
    },
    "stepline.tasks": {
        "HTTP_INVOKE",
        "HttpExchange",
        "HttpTask",
        "TaskContext",
        "TaskHandler",
        "TaskRegistry",
    },
    "stepline.connections": {
        "ACCESS_DENIED",
        "AUTH_IN_PROGRESS",
        "ApiKeyAuth",
        "BasicAuth",
        "CONCURRENT_MODIFICATION",
        "ConnectionAlreadyExists",
        "ConnectionConflict",
        "ConnectionLimitExceeded",
        "ConnectionLimits",
        "ConnectionNotFound",
        "ConnectionRecord",
        "ConnectionValidationError",
        "Connections",
        "ConnectionsError",
        "FileSecretStore",
        "HttpParameter",
        "HttpParameters",
        "INTERNAL_ERROR",
        "INVALID_CONNECTION_STATE",
        "INVALID_PRIVATE_CONNECTION_STATE",
        "InMemorySecretStore",
        "InvalidPaginationToken",
        "InvocationParameter",
        "KEY_ENV",
        "OAuthClientCredentials",
        "PrivateResource",
        "RESOURCE_NOT_FOUND",
        "ResolvedConnection",
        "Secret",
        "SecretCipher",
        "SecretDecryptError",
        "SecretKeyError",
        "SecretStore",
        "TlsSettings",
        "default_data_dir",
        "load_or_create_key",
    },
    "stepline.egress": {
        "AiohttpTransport",
        "AllowRule",
        "ConnectionPacer",
        "EgressError",
        "EgressFailed",
        "EgressRefused",
        "EgressSettings",
        "EgressTimeout",
        "Http1Transport",
        "HttpRequest",
        "HttpResponse",
        "MockTransport",
        "TlsOptions",
        "Transport",
    },
    "stepline.policy": {
        "AccessDenied",
        "AwsManagedPolicy",
        "Condition",
        "DEFAULT_AWS_MANAGED_POLICIES",
        "Decision",
        "DeleteConflict",
        "ENVIRONMENT_VARIABLE",
        "Effect",
        "EnforcementMode",
        "EntityAlreadyExists",
        "IamError",
        "InvalidInput",
        "LimitExceeded",
        "MalformedPolicyDocument",
        "NoSuchEntity",
        "Outcome",
        "POLICY_LANGUAGE_VERSIONS",
        "Policy",
        "PolicyEnforcer",
        "RoleIdentity",
        "Roles",
        "Statement",
        "ValidationError",
        "evaluate",
        "parse_policy",
        "validate_trust_policy",
    },
    "stepline.cli": {"main"},
    "stepline.teststate": {
        "DEFAULT_TIME_LIMIT_SECONDS",
        "TestStateError",
        "test_state",
        "test_state_async",
    },
}


@pytest.mark.parametrize("module_name", sorted(PUBLIC))
def test_all_is_exactly_the_curated_list(module_name: str) -> None:
    module = importlib.import_module(module_name)
    assert set(module.__all__) == PUBLIC[module_name]
    for name in module.__all__:
        assert hasattr(module, name), f"{module_name}.{name} is in __all__ but missing"


@pytest.mark.parametrize("module_name", sorted(PUBLIC))
def test_no_other_public_names_leak(module_name: str) -> None:
    module = importlib.import_module(module_name)
    leaked = {
        name
        for name in vars(module)
        if not name.startswith("_")
        and name not in module.__all__
        and not isinstance(getattr(module, name), type(importlib))  # submodules
        and name != "annotations"
    }
    assert leaked == set()
