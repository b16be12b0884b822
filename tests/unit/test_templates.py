"""Payload templates (Parameters, ResultSelector, ItemSelector)."""

from __future__ import annotations

import pytest

from stepline.asl._errors import RUNTIME, DefinitionError, StatesError
from stepline.asl._templates import compile_template, template_uses_context


def test_static_templates_are_shared_constants() -> None:
    template = {"a": 1, "b": [1, {"c": "x"}]}
    evaluate = compile_template(template)
    assert evaluate({"ignored": 1}, None) == template


def test_dynamic_keys_lose_their_suffix_and_keep_order() -> None:
    evaluate = compile_template(
        {"first": 1, "id.$": "$.order.id", "nested": {"n.$": "$.n"}, "ctx.$": "$$.Name"}
    )
    result = evaluate({"order": {"id": "o-1"}, "n": [1]}, {"Name": "run"})
    assert result == {"first": 1, "id": "o-1", "nested": {"n": [1]}, "ctx": "run"}
    assert list(result) == ["first", "id", "nested", "ctx"]


def test_intrinsics_and_query_paths_in_templates() -> None:
    evaluate = compile_template(
        {"msg.$": "States.Format('hi {}', $.name)", "skus.$": "$.items[*].sku"}
    )
    assert evaluate({"name": "Ada", "items": [{"sku": "a"}, {"sku": "b"}]}, None) == {
        "msg": "hi Ada",
        "skus": ["a", "b"],
    }


def test_templates_inside_arrays_are_evaluated() -> None:
    evaluate = compile_template({"list": [{"v.$": "$.v"}, 2]})
    assert evaluate({"v": 1}, None) == {"list": [{"v": 1}, 2]}


def test_each_evaluation_builds_a_new_object() -> None:
    evaluate = compile_template({"v.$": "$.v"})
    first = evaluate({"v": 1}, None)
    first["v"] = 99
    assert evaluate({"v": 1}, None) == {"v": 1}


@pytest.mark.parametrize("path", ["$.missing", "$.a.b.c", "$.a[5]"])
def test_a_path_that_selects_nothing_is_a_runtime_error_naming_field_and_path(path: str) -> None:
    evaluate = compile_template({"value.$": path})
    with pytest.raises(StatesError) as raised:
        evaluate({"a": {"b": 1}}, None)
    assert raised.value.error == RUNTIME
    assert f"The JSONPath '{path}' specified for the field 'value.$' could not be found" in (
        raised.value.cause
    )


def test_context_path_missing_names_the_context_object() -> None:
    evaluate = compile_template({"x.$": "$$.Nope"})
    with pytest.raises(StatesError, match="context object"):
        evaluate({}, {"Execution": {}})


@pytest.mark.parametrize("value", [1, None, ["$.a"], {"a": 1}])
def test_dynamic_values_must_be_strings(value: object) -> None:
    with pytest.raises(DefinitionError, match=r"must be a string"):
        compile_template({"bad.$": value})


def test_bad_paths_in_templates_are_definition_errors() -> None:
    with pytest.raises(DefinitionError):
        compile_template({"bad.$": "order.id"})


def test_template_uses_context() -> None:
    assert template_uses_context({"a": {"b.$": "$$.Execution.Id"}})
    assert template_uses_context([{"b.$": "States.Format('{}', $$.State.Name)"}])
    assert not template_uses_context({"a.$": "$.x", "b": "$$ literal is not a path"})
