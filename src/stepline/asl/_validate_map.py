"""Validation of the Map state's own rules, in both query languages.

A Map runs a nested state machine once per item. Its processor is either ``ItemProcessor``
(with an optional ``ProcessorConfig``: ``Mode`` ``INLINE`` or ``DISTRIBUTED``) or the legacy
``Iterator`` — never both. Fields AWS documents for Distributed Map only (``ItemReader``,
``ResultWriter``, ``ItemBatcher``, ``Label`` and the failure tolerances) are refused in
INLINE mode. ``ItemReader`` and ``ResultWriter`` read and write Amazon S3, which stepline does
not have, so they are refused in every mode with a message that says what to do instead.

Field types common to several states (paths, templates, numbers) are checked by the
per-field tables in ``_validate_states`` and ``_validate_jsonata_states``; this module adds the
rules that relate fields, and the ``ItemBatcher`` configuration: in a JSONata Map its numbers
may be expressions, its ``BatchInput`` any JSON value with expressions, and the ``…Path`` forms
are JSONPath's.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, Final, Literal

from stepline.asl._diagnostics import pointer
from stepline.asl._validate_common import (
    DUPLICATE_LABEL_NAME,
    INVALID_LABEL_NAME,
    JSONATA,
    JSONPATH,
    MAX_SECONDS,
    SCHEMA_VALIDATION_FAILED,
    STEPLINE_EXTENSION,
    UNSUPPORTED_FEATURE,
    Context,
    Language,
    check_enum,
    check_exclusive,
    check_fields,
    check_integer,
    check_object,
    describe,
)
from stepline.asl._validate_jsonata import Where, check_integer_or_expression, check_jsonata_value
from stepline.asl._validate_paths import check_reference_path, check_template

__all__ = ["DISTRIBUTED_ONLY", "validate_map"]

Mode = Literal["INLINE", "DISTRIBUTED"]

DISTRIBUTED_ONLY: Final = (
    "ItemReader",
    "ResultWriter",
    "ItemBatcher",
    "Label",
    "ToleratedFailureCount",
    "ToleratedFailureCountPath",
    "ToleratedFailurePercentage",
    "ToleratedFailurePercentagePath",
)

# Failure tolerance is meaningful for any Map, and issue #2 asks for it inline: allowed there
# with a warning, because AWS documents it for Distributed Maps only.
_ALSO_INLINE: Final = frozenset(
    {
        "ToleratedFailureCount",
        "ToleratedFailureCountPath",
        "ToleratedFailurePercentage",
        "ToleratedFailurePercentagePath",
    }
)

# The Distributed Map fields that need Amazon S3: what each does there, and what to do instead.
_NEEDS_S3: Final = {
    "ItemReader": "it reads the items from",
    "ResultWriter": "it writes the results to",
}
_S3_INSTEAD: Final = {
    "ItemReader": lambda language: (
        "Put the items in the state input and select them with "
        + ("Items (a JSONata expression)" if language == JSONATA else "ItemsPath")
        + " instead."
    ),
    "ResultWriter": lambda language: (
        "Remove it; the Map state's output then holds the results (reduce them with "
        + ("Output" if language == JSONATA else "ResultSelector or OutputPath")
        + " if they are large)."
    ),
}

_PROCESSOR_CONFIG_FIELDS: Final = frozenset({"Mode", "ExecutionType"})
_BATCHER_FIELDS: Final[Mapping[Language, frozenset[str]]] = {
    JSONPATH: frozenset(
        {
            "MaxItemsPerBatch",
            "MaxItemsPerBatchPath",
            "MaxInputBytesPerBatch",
            "MaxInputBytesPerBatchPath",
            "BatchInput",
        }
    ),
    JSONATA: frozenset({"MaxItemsPerBatch", "MaxInputBytesPerBatch", "BatchInput"}),
}
# AWS caps a batch at the payload quota, 256 KiB.
_MAX_BATCH_BYTES: Final = 262_144
_MAX_LABEL_LENGTH: Final = 40
# Labels become part of Map Run ARNs, so they follow AWS's resource-name rules.
_LABEL_FORBIDDEN: Final = re.compile(r"[\s<>{}\[\]?*\"#%\\^|~`$&,;:/\x00-\x1f\x7f-\x9f]")


def validate_map(
    ctx: Context, body: Mapping[Any, Any], location: str, language: Language = JSONPATH
) -> None:
    """Validate the Map-specific rules of the state at ``location``.

    Args:
        ctx: Where findings go; nested processors are validated through it.
        body: The Map state.
        location: Its JSON Pointer, e.g. ``/States/Ship``.
        language: The Map state's own query language (its processor's states follow the
            state machine's).
    """
    check_exclusive(
        ctx, body, location, ("ItemProcessor", "Iterator"), "A Map state", exactly_one=True
    )
    mode: Mode = "INLINE"
    if "ItemProcessor" in body:
        mode = _validate_item_processor(ctx, body["ItemProcessor"], location + "/ItemProcessor")
    if "Iterator" in body:
        ctx.validate_scope(ctx, body["Iterator"], location + "/Iterator", "iterator")
    if language == JSONPATH:  # JSONata has only the first of each pair
        for names in (
            ("ItemSelector", "Parameters"),
            ("MaxConcurrency", "MaxConcurrencyPath"),
            ("ToleratedFailureCount", "ToleratedFailureCountPath"),
            ("ToleratedFailurePercentage", "ToleratedFailurePercentagePath"),
        ):
            check_exclusive(ctx, body, location, names, "A Map state")

    for name in DISTRIBUTED_ONLY:
        if language == JSONATA and name.endswith("Path"):
            continue  # reported as JSONPath-only
        if name in body and mode != "DISTRIBUTED" and name in _ALSO_INLINE:
            ctx.warning(
                STEPLINE_EXTENSION,
                f"Field '{name}' is documented by AWS only for a Distributed Map; stepline "
                "honours it in an inline Map too, but AWS may refuse this definition. Set "
                'ItemProcessor.ProcessorConfig to {"Mode": "DISTRIBUTED", '
                '"ExecutionType": "STANDARD"} to stay portable.',
                location + pointer(name),
            )
        elif name in body and mode != "DISTRIBUTED" and name in _NEEDS_S3:
            ctx.error(
                SCHEMA_VALIDATION_FAILED,
                f"Field '{name}' is only supported by a Distributed Map (Mode 'DISTRIBUTED'), "
                f"and stepline does not support it in any mode: {_NEEDS_S3[name]} Amazon S3 "
                f"(Resource {_resource_of(body[name])}), which stepline does not have. "
                + _S3_INSTEAD[name](language),
                location + pointer(name),
            )
        elif name in body and mode != "DISTRIBUTED":
            ctx.error(
                SCHEMA_VALIDATION_FAILED,
                f"Field '{name}' is only supported by a Distributed Map; set "
                'ItemProcessor.ProcessorConfig to {"Mode": "DISTRIBUTED", '
                f'"ExecutionType": "STANDARD"}} or remove \'{name}\'.',
                location + pointer(name),
            )
    if mode != "DISTRIBUTED":
        return
    for name, does in _NEEDS_S3.items():
        if name in body:
            ctx.error(
                UNSUPPORTED_FEATURE,
                f"Field '{name}' is not supported: {does} Amazon S3 "
                f"(Resource {_resource_of(body[name])}), and stepline has no S3. "
                + _S3_INSTEAD[name](language),
                location + pointer(name),
            )
    if "ItemBatcher" in body:
        _validate_item_batcher(ctx, body["ItemBatcher"], location + "/ItemBatcher", language)
    if "Label" in body:
        _validate_label(ctx, body["Label"], location + "/Label")


def _resource_of(config: Any) -> str:
    resource = config.get("Resource") if isinstance(config, Mapping) else None
    return f"'{resource}'" if isinstance(resource, str) else "not given"


def _validate_item_processor(ctx: Context, processor: Any, location: str) -> Mode:
    """Validate ``ItemProcessor`` and return the processing mode it declares."""
    mode: Mode = "INLINE"
    if isinstance(processor, Mapping) and "ProcessorConfig" in processor:
        mode = _validate_processor_config(
            ctx, processor["ProcessorConfig"], location + "/ProcessorConfig"
        )
    ctx.validate_scope(ctx, processor, location, "processor")
    return mode


def _validate_processor_config(ctx: Context, value: Any, location: str) -> Mode:
    config = check_object(ctx, value, location, "ProcessorConfig")
    if config is None:
        return "INLINE"
    check_fields(ctx, config, location, _PROCESSOR_CONFIG_FIELDS, "ProcessorConfig")
    mode: Mode = "INLINE"
    if "Mode" in config and check_enum(
        ctx, config["Mode"], location + "/Mode", "Mode", ("INLINE", "DISTRIBUTED")
    ):
        mode = "DISTRIBUTED" if config["Mode"] == "DISTRIBUTED" else "INLINE"
    if "ExecutionType" in config:
        check_enum(
            ctx,
            config["ExecutionType"],
            location + "/ExecutionType",
            "ExecutionType",
            ("STANDARD", "EXPRESS"),
        )
        if mode == "INLINE":
            ctx.error(
                SCHEMA_VALIDATION_FAILED,
                "ExecutionType only applies to a Distributed Map (the child workflow "
                "executions' type); remove it, or set Mode to 'DISTRIBUTED'.",
                location + "/ExecutionType",
            )
    elif mode == "DISTRIBUTED":
        ctx.error(
            SCHEMA_VALIDATION_FAILED,
            "These fields are required: [ExecutionType]; a Distributed Map must say whether "
            "its child workflow executions are 'STANDARD' or 'EXPRESS'.",
            location,
        )
    return mode


def _validate_item_batcher(ctx: Context, value: Any, location: str, language: Language) -> None:
    batcher = check_object(ctx, value, location, "ItemBatcher")
    if batcher is None:
        return
    allowed = _BATCHER_FIELDS[language]
    other = _BATCHER_FIELDS[JSONPATH] - allowed if language == JSONATA else frozenset()
    check_fields(
        ctx, batcher, location, allowed, "ItemBatcher", language=language, other_language=other
    )
    for static, dynamic, maximum in (
        ("MaxItemsPerBatch", "MaxItemsPerBatchPath", MAX_SECONDS),
        ("MaxInputBytesPerBatch", "MaxInputBytesPerBatchPath", _MAX_BATCH_BYTES),
    ):
        here = location + pointer(static)
        if language == JSONATA:
            if static in batcher:
                check_integer_or_expression(
                    ctx, batcher[static], here, static, minimum=1, maximum=maximum
                )
            continue
        check_exclusive(ctx, batcher, location, (static, dynamic), "ItemBatcher")
        if static in batcher:
            check_integer(ctx, batcher[static], here, static, minimum=1, maximum=maximum)
        if dynamic in batcher:
            check_reference_path(ctx, batcher[dynamic], location + pointer(dynamic), dynamic)
    if not any(name in batcher for name in _BATCHER_FIELDS[JSONPATH] - {"BatchInput"}):
        ctx.error(
            SCHEMA_VALIDATION_FAILED,
            "ItemBatcher must limit the batch size: add MaxItemsPerBatch or "
            "MaxInputBytesPerBatch" + (" (or their …Path forms)." if language == JSONPATH else "."),
            location,
        )
    if "BatchInput" in batcher:
        here = location + "/BatchInput"
        if language == JSONATA:
            check_jsonata_value(ctx, batcher["BatchInput"], here, Where("BatchInput"))
        else:
            check_template(ctx, batcher["BatchInput"], here, "BatchInput")


def _validate_label(ctx: Context, value: Any, location: str) -> None:
    if not isinstance(value, str) or not value:
        ctx.error(
            INVALID_LABEL_NAME,
            f"Label must be a non-empty string, got {describe(value)}.",
            location,
        )
        return
    if len(value) > _MAX_LABEL_LENGTH:
        ctx.error(
            INVALID_LABEL_NAME,
            f"Label {describe(value)} is {len(value)} characters long; a Label can have at "
            f"most {_MAX_LABEL_LENGTH}.",
            location,
        )
    bad = _LABEL_FORBIDDEN.search(value)
    if bad:
        ctx.error(
            INVALID_LABEL_NAME,
            f"Label {describe(value)} contains {describe(bad.group())}, which a Label cannot "
            "contain (no whitespace, brackets, wildcards, control characters or any of "
            "\" # % \\ ^ | ~ ` $ & , ; : /); use letters, digits, '-' and '_'.",
            location,
        )
    first = ctx.labels.get(value)
    if first is not None:
        ctx.error(
            DUPLICATE_LABEL_NAME,
            f"Label {describe(value)} is already used by the Map state at {first}; labels "
            "must be unique within the state machine.",
            location,
        )
    else:
        ctx.labels[value] = location
