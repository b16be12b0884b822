"""A minimal dict-walking ASL interpreter: the yardstick the engine's figures are divided by.

It does only what the three benchmark workloads need — Pass with Parameters and ResultPath,
Choice with NumericLessThan, States.MathAdd, an inline Map of Pass states — with no validation,
no history, no context object, no error handling and no payload checks. Whatever the machine,
``engine / baseline`` says how much the engine's guarantees cost over the least possible work.
"""

from __future__ import annotations

from typing import Any


def _get(data: Any, path: str) -> Any:
    for key in path[2:].split(".") if path != "$" else ():
        data = data[key]
    return data


def _math_add(expression: str, data: Any) -> Any:
    # "States.MathAdd($.i, 1)"
    inner = expression[len("States.MathAdd(") : -1]
    left, right = (part.strip() for part in inner.split(","))
    return _get(data, left) + int(right)


def _parameters(template: dict[str, Any], data: Any) -> dict[str, Any]:
    result = {}
    for key, value in template.items():
        if key.endswith(".$"):
            if value.startswith("States.MathAdd("):
                result[key[:-2]] = _math_add(value, data)
            else:
                result[key[:-2]] = _get(data, value)
        else:
            result[key] = value
    return result


def run(definition: dict[str, Any], data: Any) -> tuple[Any, int]:
    """Run a definition; return (output, transitions)."""
    states = definition["States"]
    name = definition["StartAt"]
    transitions = 0
    while True:
        state = states[name]
        transitions += 1
        kind = state["Type"]
        if kind == "Choice":
            name = state["Default"]
            for rule in state["Choices"]:
                if _get(data, rule["Variable"]) < rule["NumericLessThan"]:
                    name = rule["Next"]
                    break
            continue
        if kind == "Succeed":
            return data, transitions
        if kind == "Map":
            items = _get(data, state.get("ItemsPath", "$"))
            results = []
            for item in items:
                output, count = run(state["ItemProcessor"], item)
                results.append(output)
                transitions += count
            result: Any = results
        else:  # Pass
            result = _parameters(state["Parameters"], data) if "Parameters" in state else data
        result_path = state.get("ResultPath", "$")
        if result_path == "$":
            data = result
        else:
            data = dict(data)
            data[result_path[2:]] = result
        if state.get("End"):
            return data, transitions
        name = state["Next"]
