"""Checking what a state machine is created or updated with: definition, configurations, tags.

The definition goes through the engine's validator (:func:`stepline.asl.validate_definition`)
plus the restrictions of Express workflows, which AWS applies by type: no ``.sync`` or
``.waitForTaskToken`` integrations and no activities. Logging, tracing and encryption
configurations are checked as AWS checks them, completed with AWS's defaults and stored as
canonical JSON text, so that two requests meaning the same configuration compare equal (the
idempotent CreateStateMachine rule) and DescribeStateMachine always shows all three.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from typing import Any, Final

import orjson

from stepline.api import ServiceError
from stepline.asl import Diagnostic, validate_definition
from stepline.asl._diagnostics import pointer

__all__ = [
    "MAX_TAGS",
    "check_definition",
    "check_tags",
    "definition_diagnostics",
    "encryption_text",
    "logging_text",
    "shown_configuration",
    "tracing_text",
]

MAX_TAGS: Final = 50
DEFAULT_KMS_REUSE_SECONDS: Final = 300

_SCHEMA: Final = "SCHEMA_VALIDATION_FAILED"
_LOG_GROUP: Final = re.compile(
    r"arn:aws(-[a-z]+)*:logs:[a-z0-9-]+:[0-9]{12}:log-group:[\w.#/-]{1,512}:\*"
)
_DEFAULT_LOGGING: Final[Mapping[str, Any]] = {"level": "OFF", "includeExecutionData": False}
_DEFAULT_TRACING: Final[Mapping[str, Any]] = {"enabled": False}
_DEFAULT_ENCRYPTION: Final[Mapping[str, Any]] = {"type": "AWS_OWNED_KEY"}
_DEFAULTS: Final[Mapping[str, Mapping[str, Any]]] = {
    "logging": _DEFAULT_LOGGING,
    "tracing": _DEFAULT_TRACING,
    "encryption": _DEFAULT_ENCRYPTION,
}


# -- definition --------------------------------------------------------------------------------


def definition_diagnostics(definition: str, machine_type: str) -> list[Diagnostic]:
    """Every diagnostic of ``definition`` for a state machine of ``machine_type``."""
    diagnostics = validate_definition(definition)
    if machine_type == "EXPRESS" and not any(d.severity == "ERROR" for d in diagnostics):
        try:
            document = orjson.loads(definition)
        except orjson.JSONDecodeError:  # the validator has reported it already
            return diagnostics
        diagnostics.extend(_express_problems(document))
    return diagnostics


def check_definition(definition: str, machine_type: str) -> None:
    """Refuse a definition with any ``ERROR`` diagnostic.

    Raises:
        ServiceError: ``InvalidDefinition`` in AWS's form: ``Invalid State Machine Definition:
            '<CODE>: <message> at <location>, …'``.
    """
    errors = [d for d in definition_diagnostics(definition, machine_type) if d.severity == "ERROR"]
    if errors:
        parts = ", ".join(
            f"{d.code}: {d.message}" + (f" at {d.location}" if d.location else "") for d in errors
        )
        raise ServiceError("InvalidDefinition", f"Invalid State Machine Definition: '{parts}'")


def _express_problems(document: Any) -> Iterator[Diagnostic]:
    """What an Express workflow may not use: ``.sync``, ``.waitForTaskToken``, activities."""
    if not isinstance(document, Mapping):
        return
    yield from _express_states(document.get("States"), ("States",))


def _express_states(states: Any, where: tuple[str | int, ...]) -> Iterator[Diagnostic]:
    if not isinstance(states, Mapping):
        return
    for name, state in states.items():
        if not isinstance(state, Mapping):
            continue
        here = (*where, name)
        kind = state.get("Type")
        if kind == "Task":
            problem = _express_resource_problem(state.get("Resource"))
            if problem is not None:
                yield Diagnostic(_SCHEMA, problem, pointer(*here, "Resource"))
        elif kind == "Parallel" and isinstance(state.get("Branches"), list):
            for index, branch in enumerate(state["Branches"]):
                if isinstance(branch, Mapping):
                    yield from _express_states(
                        branch.get("States"), (*here, "Branches", index, "States")
                    )
        elif kind == "Map":
            for key in ("ItemProcessor", "Iterator"):
                inner = state.get(key)
                if isinstance(inner, Mapping):
                    yield from _express_states(inner.get("States"), (*here, key, "States"))


def _express_resource_problem(resource: Any) -> str | None:
    if not isinstance(resource, str):
        return None
    if resource.endswith(".waitForTaskToken"):
        return (
            "Express state machines do not support the '.waitForTaskToken' integration "
            "pattern; use a STANDARD state machine, or call the service without a task token"
        )
    if resource.endswith(".sync") or ".sync:" in resource:
        return (
            "Express state machines do not support the '.sync' integration pattern; use a "
            "STANDARD state machine, or the request-response form of the integration"
        )
    if resource.startswith("arn:") and ":activity:" in resource:
        return "Express state machines do not support activities; use a STANDARD state machine"
    return None


# -- configurations ----------------------------------------------------------------------------


def _canonical(value: Mapping[str, Any]) -> str:
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS).decode()


def logging_text(configuration: Mapping[str, Any] | None) -> str:
    """A checked logging configuration with AWS's defaults, as canonical JSON text.

    Raises:
        ServiceError: ``InvalidLoggingConfiguration``.
    """
    given = dict(configuration or {})
    level = given.get("level", "OFF")
    destinations = given.get("destinations") or []
    if len(destinations) > 1:
        raise _invalid_logging(
            f"{len(destinations)} log destinations were given; give exactly one "
            "(a CloudWatch Logs log group)"
        )
    if level != "OFF" and not destinations:
        raise _invalid_logging(
            f"level {level} needs exactly one log destination; add "
            "destinations=[{cloudWatchLogsLogGroup: {logGroupArn: "
            "'arn:aws:logs:<region>:<account>:log-group:<name>:*'}}] or set level OFF"
        )
    shown: list[dict[str, Any]] = []
    for destination in destinations:
        group_arn = (destination.get("cloudWatchLogsLogGroup") or {}).get("logGroupArn")
        if not group_arn:
            raise _invalid_logging(
                "the log destination has no cloudWatchLogsLogGroup.logGroupArn; give the "
                "log group's ARN"
            )
        if not _LOG_GROUP.fullmatch(group_arn):
            raise _invalid_logging(
                f"'{group_arn}' is not a log group ARN of the form "
                "arn:aws:logs:<region>:<account>:log-group:<name>:* (note the ':*' at the end)"
            )
        shown.append({"cloudWatchLogsLogGroup": {"logGroupArn": group_arn}})
    result: dict[str, Any] = {
        "level": level,
        "includeExecutionData": bool(given.get("includeExecutionData", False)),
    }
    if shown:
        result["destinations"] = shown
    return _canonical(result)


def _invalid_logging(problem: str) -> ServiceError:
    return ServiceError("InvalidLoggingConfiguration", f"Invalid Logging Configuration: {problem}.")


def tracing_text(configuration: Mapping[str, Any] | None) -> str:
    """A tracing configuration with AWS's default (disabled), as canonical JSON text."""
    return _canonical({"enabled": bool((configuration or {}).get("enabled", False))})


def encryption_text(configuration: Mapping[str, Any] | None) -> str:
    """A checked encryption configuration with AWS's defaults, as canonical JSON text.

    stepline keeps definitions in its own store and calls no KMS: a customer managed key is
    accepted and shown back, not used.

    Raises:
        ServiceError: ``InvalidEncryptionConfiguration``.
    """
    if not configuration:
        return _canonical(_DEFAULT_ENCRYPTION)
    kind = configuration.get("type", "AWS_OWNED_KEY")
    key_id = configuration.get("kmsKeyId")
    reuse = configuration.get("kmsDataKeyReusePeriodSeconds")
    if kind == "AWS_OWNED_KEY":
        if key_id is not None or reuse is not None:
            raise ServiceError(
                "InvalidEncryptionConfiguration",
                "Invalid Encryption Configuration: kmsKeyId and kmsDataKeyReusePeriodSeconds "
                "apply to type CUSTOMER_MANAGED_KMS_KEY only; remove them or change the type.",
            )
        return _canonical(_DEFAULT_ENCRYPTION)
    if not key_id:
        raise ServiceError(
            "InvalidEncryptionConfiguration",
            "Invalid Encryption Configuration: type CUSTOMER_MANAGED_KMS_KEY needs kmsKeyId "
            "(the key's id, ARN, alias name or alias ARN).",
        )
    return _canonical(
        {
            "type": kind,
            "kmsKeyId": key_id,
            "kmsDataKeyReusePeriodSeconds": DEFAULT_KMS_REUSE_SECONDS if reuse is None else reuse,
        }
    )


def shown_configuration(text: str | None, kind: str) -> dict[str, Any]:
    """A stored configuration as DescribeStateMachine shows it (AWS's default when absent).

    Args:
        text: The stored JSON text.
        kind: ``logging``, ``tracing`` or ``encryption``.
    """
    if text:
        value: dict[str, Any] = orjson.loads(text)
        return value
    return dict(_DEFAULTS[kind])


# -- tags --------------------------------------------------------------------------------------


def check_tags(
    tags: Sequence[Mapping[str, str]] | None, arn: str, existing: Mapping[str, str] | None = None
) -> dict[str, str]:
    """Tags given as ``[{key, value}]`` as a mapping (a repeated key: the last one wins).

    Raises:
        ServiceError: ``TooManyTags`` when the resource would have more than 50.
    """
    result = {tag["key"]: tag.get("value", "") for tag in tags or ()}
    total = len({**(existing or {}), **result})
    if total > MAX_TAGS:
        raise ServiceError(
            "TooManyTags",
            f"Too many tags: resource '{arn}' would have {total} tags, more than the "
            f"{MAX_TAGS} allowed; remove some with UntagResource first or tag fewer.",
            fields={"resourceName": arn},
        )
    return result
