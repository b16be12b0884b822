"""Definition validation: Parallel branches and Map states (inline, distributed, legacy)."""

from __future__ import annotations

from typing import Any

import pytest

from stepline.asl._validate import validate_definition


def errors(definition: Any) -> list[tuple[str, str]]:
    """(code, location) of every ERROR, in order."""
    return [(d.code, d.location) for d in validate_definition(definition) if d.severity == "ERROR"]


def single(state: dict[str, Any]) -> dict[str, Any]:
    return {"StartAt": "A", "States": {"A": state}}


def branch(name: str = "B") -> dict[str, Any]:
    return {"StartAt": name, "States": {name: {"Type": "Succeed"}}}


def parallel(**fields: Any) -> dict[str, Any]:
    return single({"Type": "Parallel", "End": True, **fields})


DISTRIBUTED = {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"}


def map_state(config: dict[str, Any] | None = None, **fields: Any) -> dict[str, Any]:
    """A Map ``A`` with an ItemProcessor (given ProcessorConfig, if any) and ``fields``."""
    processor: dict[str, Any] = branch("P")
    if config is not None:
        processor = {"ProcessorConfig": config, **processor}
    return single({"Type": "Map", "ItemProcessor": processor, "End": True, **fields})


# --- Parallel -------------------------------------------------------------------------------


def test_parallel_with_branches_is_valid() -> None:
    assert validate_definition(parallel(Branches=[branch("B1"), branch("B2")])) == []


def test_parallel_requires_branches() -> None:
    assert errors(parallel()) == [("SCHEMA_VALIDATION_FAILED", "/States/A")]


@pytest.mark.parametrize("branches", [[], {}, "B"])
def test_branches_must_be_a_non_empty_array(branches: Any) -> None:
    assert errors(parallel(Branches=branches)) == [
        ("SCHEMA_VALIDATION_FAILED", "/States/A/Branches")
    ]


def test_a_branch_must_be_an_object() -> None:
    assert errors(parallel(Branches=[branch(), "B"])) == [
        ("SCHEMA_VALIDATION_FAILED", "/States/A/Branches/1")
    ]


def test_a_branch_needs_start_at_and_states() -> None:
    found = validate_definition(parallel(Branches=[{"Comment": "empty"}]))
    assert [(d.code, d.location) for d in found] == [
        ("SCHEMA_VALIDATION_FAILED", "/States/A/Branches/0")
    ]
    assert "[StartAt, States]" in found[0].message


@pytest.mark.parametrize("field", ["QueryLanguage", "TimeoutSeconds", "Version", "Foo"])
def test_a_branch_allows_only_start_at_states_and_comment(field: str) -> None:
    assert errors(parallel(Branches=[{**branch(), field: "JSONPath"}])) == [
        ("SCHEMA_VALIDATION_FAILED", f"/States/A/Branches/0/{field}")
    ]


def test_states_inside_a_branch_are_validated_with_their_full_location() -> None:
    inner = {
        "StartAt": "T",
        "States": {
            "T": {
                "Type": "Task",
                "Resource": "arn:aws:states:::lambda:invoke",
                "Retry": [{"ErrorEquals": ["E"], "BackoffRate": 0.1}],
                "End": True,
            }
        },
    }
    assert errors(parallel(Branches=[branch(), inner])) == [
        ("SCHEMA_VALIDATION_FAILED", "/States/A/Branches/1/States/T/Retry/0/BackoffRate")
    ]


def test_a_branch_has_its_own_graph() -> None:
    inner = {
        "StartAt": "X",
        "States": {"X": {"Type": "Succeed"}, "Y": {"Type": "Succeed"}},
    }
    assert errors(parallel(Branches=[inner])) == [
        ("MISSING_TRANSITION_TARGET", "/States/A/Branches/0/States/Y")
    ]


def test_a_branch_start_at_must_name_one_of_its_states() -> None:
    assert errors(parallel(Branches=[{"StartAt": "Nope", "States": {"B": {"Type": "Succeed"}}}]))[
        0
    ] == ("MISSING_TRANSITION_TARGET", "/States/A/Branches/0/StartAt")


# --- Map: processor ----------------------------------------------------------------------------


def test_map_needs_item_processor_or_iterator() -> None:
    found = validate_definition(single({"Type": "Map", "End": True}))
    assert [(d.code, d.location) for d in found] == [("SCHEMA_VALIDATION_FAILED", "/States/A")]
    assert "'ItemProcessor', 'Iterator'" in found[0].message


def test_map_cannot_have_both_item_processor_and_iterator() -> None:
    definition = map_state(Iterator=branch("I"))
    assert errors(definition) == [("SCHEMA_VALIDATION_FAILED", "/States/A/Iterator")]


def test_legacy_iterator_is_valid() -> None:
    state = {"Type": "Map", "Iterator": branch("I"), "Parameters": {"v.$": "$$.Map.Item.Value"}}
    assert validate_definition(single({**state, "End": True})) == []


def test_iterator_has_no_processor_config() -> None:
    state = {
        "Type": "Map",
        "Iterator": {**branch("I"), "ProcessorConfig": {"Mode": "INLINE"}},
        "End": True,
    }
    assert errors(single(state)) == [
        ("SCHEMA_VALIDATION_FAILED", "/States/A/Iterator/ProcessorConfig")
    ]


def test_item_processor_cannot_declare_a_query_language() -> None:
    state = {
        "Type": "Map",
        "ItemProcessor": {**branch("P"), "QueryLanguage": "JSONPath"},
        "End": True,
    }
    assert errors(single(state)) == [
        ("SCHEMA_VALIDATION_FAILED", "/States/A/ItemProcessor/QueryLanguage")
    ]


def test_states_in_a_processor_are_validated_and_have_their_own_graph() -> None:
    state = {
        "Type": "Map",
        "ItemProcessor": {
            "StartAt": "W",
            "States": {"W": {"Type": "Wait", "Seconds": -1, "Next": "Out"}},
        },
        "Next": "Out",
    }
    definition = {"StartAt": "A", "States": {"A": state, "Out": {"Type": "Succeed"}}}
    assert errors(definition) == [
        ("SCHEMA_VALIDATION_FAILED", "/States/A/ItemProcessor/States/W/Seconds"),
        ("MISSING_END_STATE", "/States/A/ItemProcessor"),
        ("MISSING_TRANSITION_TARGET", "/States/A/ItemProcessor/States/W/Next"),
    ]


@pytest.mark.parametrize(
    "config",
    [{}, {"Mode": "INLINE"}, DISTRIBUTED, {"Mode": "DISTRIBUTED", "ExecutionType": "EXPRESS"}],
)
def test_processor_configs_that_are_valid(config: dict[str, Any]) -> None:
    assert validate_definition(map_state(config)) == []


@pytest.mark.parametrize(
    ("config", "location"),
    [
        ("INLINE", "/States/A/ItemProcessor/ProcessorConfig"),
        ({"Mode": "inline"}, "/States/A/ItemProcessor/ProcessorConfig/Mode"),
        ({"Mode": "DISTRIBUTED"}, "/States/A/ItemProcessor/ProcessorConfig"),
        (
            {"Mode": "DISTRIBUTED", "ExecutionType": "FAST"},
            "/States/A/ItemProcessor/ProcessorConfig/ExecutionType",
        ),
        (
            {"Mode": "INLINE", "ExecutionType": "STANDARD"},
            "/States/A/ItemProcessor/ProcessorConfig/ExecutionType",
        ),
        (
            {"Mode": "INLINE", "Concurrency": 3},
            "/States/A/ItemProcessor/ProcessorConfig/Concurrency",
        ),
    ],
)
def test_processor_configs_that_are_not(config: Any, location: str) -> None:
    assert errors(map_state(config)) == [("SCHEMA_VALIDATION_FAILED", location)]


# --- Map: fields -------------------------------------------------------------------------------


def test_item_selector_and_parameters_exclude_each_other() -> None:
    definition = map_state(ItemSelector={"a": 1}, Parameters={"b": 2})
    assert errors(definition) == [("SCHEMA_VALIDATION_FAILED", "/States/A/Parameters")]


def test_item_selector_is_a_template() -> None:
    assert errors(map_state(ItemSelector={"v.$": "Map.Item.Value"})) == [
        ("INVALID_JSON_PATH", "/States/A/ItemSelector/v.$")
    ]


@pytest.mark.parametrize(
    ("value", "code"),
    [
        ("$.items[*]", "INVALID_JSON_PATH"),
        (None, "SCHEMA_VALIDATION_FAILED"),
        (["a"], "SCHEMA_VALIDATION_FAILED"),
    ],
)
def test_items_path_is_a_reference_path(value: Any, code: str) -> None:
    assert errors(map_state(ItemsPath=value)) == [(code, "/States/A/ItemsPath")]


def test_items_path_may_read_the_context_object() -> None:
    assert errors(map_state(ItemsPath="$$.Execution.Input.items")) == []


@pytest.mark.parametrize("value", [-1, 1.5, "5", True])
def test_max_concurrency_must_be_a_non_negative_integer(value: Any) -> None:
    assert errors(map_state(MaxConcurrency=value)) == [
        ("SCHEMA_VALIDATION_FAILED", "/States/A/MaxConcurrency")
    ]


def test_max_concurrency_zero_means_unlimited() -> None:
    assert errors(map_state(MaxConcurrency=0)) == []


def test_max_concurrency_and_its_path_exclude_each_other() -> None:
    assert errors(map_state(MaxConcurrency=2, MaxConcurrencyPath="$.n")) == [
        ("SCHEMA_VALIDATION_FAILED", "/States/A/MaxConcurrencyPath")
    ]


def test_result_selector_is_allowed_on_map() -> None:
    assert errors(map_state(ResultSelector={"n.$": "States.ArrayLength($)"})) == []


# --- Map: Distributed-only fields ---------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("Label", "rows"),
        ("ItemBatcher", {"MaxItemsPerBatch": 10}),
        ("ItemReader", {"Resource": "arn:aws:states:::s3:getObject"}),
        ("ResultWriter", {"Resource": "arn:aws:states:::s3:putObject"}),
    ],
)
def test_distributed_only_fields_are_refused_inline(field: str, value: Any) -> None:
    for config in (None, {"Mode": "INLINE"}):
        found = validate_definition(map_state(config, **{field: value}))
        assert [(d.code, d.location) for d in found] == [
            ("SCHEMA_VALIDATION_FAILED", f"/States/A/{field}")
        ]
        assert "DISTRIBUTED" in found[0].message


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("ToleratedFailureCount", 1),
        ("ToleratedFailureCountPath", "$.n"),
        ("ToleratedFailurePercentage", 10),
        ("ToleratedFailurePercentagePath", "$.p"),
    ],
)
def test_failure_tolerance_inline_is_a_portability_warning(field: str, value: Any) -> None:
    for config in (None, {"Mode": "INLINE"}):
        found = validate_definition(map_state(config, **{field: value}))
        assert [(d.code, d.location, d.severity) for d in found] == [
            ("STEPLINE_EXTENSION", f"/States/A/{field}", "WARNING")
        ]
        assert "Distributed Map" in found[0].message


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("ToleratedFailureCount", 0),
        ("ToleratedFailureCountPath", "$.n"),
        ("ToleratedFailurePercentage", 0),
        ("ToleratedFailurePercentage", 100),
        ("ToleratedFailurePercentage", 12.5),
        ("ToleratedFailurePercentagePath", "$.p"),
        ("Label", "rows_2026-01"),
        ("ItemBatcher", {"MaxInputBytesPerBatch": 262_144}),
    ],
)
def test_distributed_only_fields_are_accepted_when_distributed(field: str, value: Any) -> None:
    assert validate_definition(map_state(DISTRIBUTED, **{field: value})) == []


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("ToleratedFailureCount", -1),
        ("ToleratedFailureCount", 0.5),
        ("ToleratedFailurePercentage", -0.1),
        ("ToleratedFailurePercentage", 100.5),
        ("ToleratedFailurePercentage", "5"),
        ("ToleratedFailureCountPath", 5),
    ],
)
def test_tolerated_failure_values_out_of_range(field: str, value: Any) -> None:
    assert errors(map_state(DISTRIBUTED, **{field: value})) == [
        ("SCHEMA_VALIDATION_FAILED", f"/States/A/{field}")
    ]


@pytest.mark.parametrize("name", ["ToleratedFailureCount", "ToleratedFailurePercentage"])
def test_tolerated_failure_values_and_paths_exclude_each_other(name: str) -> None:
    definition = map_state(DISTRIBUTED, **{name: 1, f"{name}Path": "$.x"})
    assert errors(definition) == [("SCHEMA_VALIDATION_FAILED", f"/States/A/{name}Path")]


@pytest.mark.parametrize(("field", "service"), [("ItemReader", "S3"), ("ResultWriter", "S3")])
def test_s3_item_reader_and_result_writer_are_unsupported(field: str, service: str) -> None:
    resource = "arn:aws:states:::s3:listObjectsV2"
    found = validate_definition(map_state(DISTRIBUTED, **{field: {"Resource": resource}}))
    assert [(d.code, d.location) for d in found] == [("UNSUPPORTED_FEATURE", f"/States/A/{field}")]
    assert f"Field '{field}' is not supported" in found[0].message
    assert resource in found[0].message
    assert service in found[0].message


@pytest.mark.parametrize(
    ("batcher", "location"),
    [
        ({}, "/States/A/ItemBatcher"),
        ({"BatchInput": {"a": 1}}, "/States/A/ItemBatcher"),
        ("10", "/States/A/ItemBatcher"),
        ({"MaxItemsPerBatch": 0}, "/States/A/ItemBatcher/MaxItemsPerBatch"),
        ({"MaxInputBytesPerBatch": 262_145}, "/States/A/ItemBatcher/MaxInputBytesPerBatch"),
        (
            {"MaxItemsPerBatch": 5, "MaxItemsPerBatchPath": "$.n"},
            "/States/A/ItemBatcher/MaxItemsPerBatchPath",
        ),
        ({"MaxItemsPerBatch": 5, "Size": 1}, "/States/A/ItemBatcher/Size"),
        ({"MaxItemsPerBatch": 5, "BatchInput": []}, "/States/A/ItemBatcher/BatchInput"),
    ],
)
def test_item_batcher_shapes_that_are_refused(batcher: Any, location: str) -> None:
    assert errors(map_state(DISTRIBUTED, ItemBatcher=batcher)) == [
        ("SCHEMA_VALIDATION_FAILED", location)
    ]


def test_item_batcher_paths_and_batch_input_are_checked() -> None:
    batcher = {"MaxItemsPerBatchPath": "$.n[*]", "BatchInput": {"x.$": "nope"}}
    assert errors(map_state(DISTRIBUTED, ItemBatcher=batcher)) == [
        ("INVALID_JSON_PATH", "/States/A/ItemBatcher/MaxItemsPerBatchPath"),
        ("INVALID_JSON_PATH", "/States/A/ItemBatcher/BatchInput/x.$"),
    ]


@pytest.mark.parametrize("label", ["", 5, "x" * 41, "has space", "semi;colon", "tab\t", "a/b"])
def test_invalid_labels(label: Any) -> None:
    assert errors(map_state(DISTRIBUTED, Label=label)) == [
        ("INVALID_LABEL_NAME", "/States/A/Label")
    ]


def test_labels_must_be_unique() -> None:
    def distributed_map(name: str, following: str | None) -> dict[str, Any]:
        flow = {"Next": following} if following else {"End": True}
        return {
            "Type": "Map",
            "Label": "same",
            "ItemProcessor": {"ProcessorConfig": DISTRIBUTED, **branch(f"{name}-inner")},
            **flow,
        }

    definition = {
        "StartAt": "M1",
        "States": {"M1": distributed_map("M1", "M2"), "M2": distributed_map("M2", None)},
    }
    assert errors(definition) == [("DUPLICATE_LABEL_NAME", "/States/M2/Label")]


@pytest.mark.parametrize(
    ("language", "field", "hint"),
    [
        ("JSONPath", "ItemReader", "select them with ItemsPath instead"),
        ("JSONata", "ItemReader", "select them with Items (a JSONata expression) instead"),
        ("JSONata", "ResultWriter", "reduce them with Output"),
    ],
)
def test_s3_fields_say_what_to_do_instead_in_either_mode(
    language: str, field: str, hint: str
) -> None:
    for config in (None, {"Mode": "DISTRIBUTED", "ExecutionType": "EXPRESS"}):
        processor: dict[str, Any] = {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}}
        if config is not None:
            processor["ProcessorConfig"] = config
        definition = {
            "QueryLanguage": language,
            "StartAt": "A",
            "States": {
                "A": {
                    "Type": "Map",
                    field: {"Resource": "arn:aws:states:::s3:getObject"},
                    "ItemProcessor": processor,
                    "End": True,
                }
            },
        }
        (found,) = validate_definition(definition)
        assert found.location == f"/States/A/{field}"
        assert "Amazon S3" in found.message and hint in found.message
