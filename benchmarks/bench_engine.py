"""Engine throughput: transitions/s and executions/s on three in-process workloads.

Run: ``python benchmarks/bench_engine.py [--seconds 3]``

Workloads (from issue #2), each also written in JSONata (issue #3):
  chain   10 Pass states, each with Parameters and ResultPath (JSONata: Output with $merge)
  map     an inline Map over 1,000 items, each iteration one Pass state (JSONata: Items)
  choice  a Choice loop of 100 iterations, the counter kept with States.MathAdd
          (JSONata: Condition and an Output expression)

Each figure is printed next to a baseline measured in the same run — ``_baseline.py``, a
minimal dict-walking interpreter doing the same work with no validation, history, context or
checks — so runs on different machines or days can be compared by the ratio rather than by
absolute numbers. Times are CPU time of this process, so other load on the machine disturbs
them less (it still does: compare ratios).
"""

from __future__ import annotations

import argparse
import gc
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from stepline import StateMachine

sys.path.insert(0, str(Path(__file__).parent))
import _baseline as baseline


def chain_definition(length: int = 10) -> dict[str, Any]:
    states: dict[str, Any] = {}
    for index in range(length):
        states[f"S{index}"] = {
            "Type": "Pass",
            "Parameters": {"step": index, "value.$": "$.value", "label": "chain"},
            "ResultPath": f"$.r{index % 3}",
            **({"Next": f"S{index + 1}"} if index < length - 1 else {"End": True}),
        }
    return {"StartAt": "S0", "States": states}


def map_definition() -> dict[str, Any]:
    return {
        "StartAt": "Each",
        "States": {
            "Each": {
                "Type": "Map",
                "ItemsPath": "$.items",
                "ItemProcessor": {
                    "ProcessorConfig": {"Mode": "INLINE"},
                    "StartAt": "Item",
                    "States": {"Item": {"Type": "Pass", "End": True}},
                },
                "End": True,
            }
        },
    }


def choice_definition() -> dict[str, Any]:
    return {
        "StartAt": "Check",
        "States": {
            "Check": {
                "Type": "Choice",
                "Choices": [{"Variable": "$.i", "NumericLessThan": 100, "Next": "Increment"}],
                "Default": "Done",
            },
            "Increment": {
                "Type": "Pass",
                "Parameters": {"i.$": "States.MathAdd($.i, 1)"},
                "Next": "Check",
            },
            "Done": {"Type": "Succeed"},
        },
    }


def chain_definition_jsonata(length: int = 10) -> dict[str, Any]:
    """The chain in JSONata: each state merges the same object into its input."""
    states: dict[str, Any] = {}
    for index in range(length):
        states[f"S{index}"] = {
            "Type": "Pass",
            "Output": (
                "{% $merge([$states.input, {'r"
                + str(index % 3)
                + "': {'step': "
                + str(index)
                + ", 'value': $states.input.value, 'label': 'chain'}}]) %}"
            ),
            **({"Next": f"S{index + 1}"} if index < length - 1 else {"End": True}),
        }
    return {"QueryLanguage": "JSONata", "StartAt": "S0", "States": states}


def map_definition_jsonata() -> dict[str, Any]:
    return {
        "QueryLanguage": "JSONata",
        "StartAt": "Each",
        "States": {
            "Each": {
                "Type": "Map",
                "Items": "{% $states.input.items %}",
                "ItemProcessor": {
                    "ProcessorConfig": {"Mode": "INLINE"},
                    "StartAt": "Item",
                    "States": {"Item": {"Type": "Pass", "End": True}},
                },
                "End": True,
            }
        },
    }


def choice_definition_jsonata() -> dict[str, Any]:
    return {
        "QueryLanguage": "JSONata",
        "StartAt": "Check",
        "States": {
            "Check": {
                "Type": "Choice",
                "Choices": [{"Condition": "{% $states.input.i < 100 %}", "Next": "Increment"}],
                "Default": "Done",
            },
            "Increment": {
                "Type": "Pass",
                "Output": {"i": "{% $states.input.i + 1 %}"},
                "Next": "Check",
            },
            "Done": {"Type": "Succeed"},
        },
    }


def measure(run: Callable[[], int], seconds: float, max_runs: int) -> tuple[float, float]:
    """Run repeatedly for about ``seconds`` of CPU time (at most ``max_runs``).

    CPU time rather than wall time: the figure is about the engine, and stays comparable when
    other processes share the machine. Returns (runs/s, transitions/s).
    """
    run()  # warm up
    gc.collect()
    runs = transitions = 0
    start = time.process_time()
    deadline = start + seconds
    while runs < max_runs:
        transitions += run()
        runs += 1
        if time.process_time() >= deadline:
            break
    elapsed = time.process_time() - start
    return runs / elapsed, transitions / elapsed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=3.0, help="time per workload")
    parser.add_argument("--max-runs", type=int, default=1_000_000, help="cap on runs per workload")
    args = parser.parse_args(argv)

    chain_input = {"value": 42}
    map_input = {"items": [{"n": n} for n in range(1000)]}
    choice_input = {"i": 0}
    # Each transition is a state entered; Map counts the Map state + 1,000 iterations.
    workloads = [
        ("chain (10 Pass)", chain_definition, chain_definition_jsonata, chain_input),
        ("map (1,000 items)", map_definition, map_definition_jsonata, map_input),
        ("choice loop (100)", choice_definition, choice_definition_jsonata, choice_input),
    ]
    print(f"python {sys.version.split()[0]}, {args.seconds:.1f} s per workload, one core")
    print(
        f"{'workload':<20}{'executions/s':>14}{'transitions/s':>16}"
        f"{'baseline trans/s':>18}{'ratio':>8}{'JSONata trans/s':>17}{'JSONata/JSONPath':>18}"
    )
    for label, definition, definition_jsonata, execution_input in workloads:
        machine = StateMachine(definition())
        machine_jsonata = StateMachine(definition_jsonata())
        executions, transitions = measure(
            lambda m=machine, i=execution_input: m.run(i).transitions, args.seconds, args.max_runs
        )
        _, base_transitions = measure(
            lambda d=definition, i=execution_input: baseline.run(d(), i)[1],
            min(args.seconds, 1.0),
            args.max_runs,
        )
        _, jsonata_transitions = measure(
            lambda m=machine_jsonata, i=execution_input: m.run(i).transitions,
            args.seconds,
            args.max_runs,
        )
        print(
            f"{label:<20}{executions:>14,.0f}{transitions:>16,.0f}"
            f"{base_transitions:>18,.0f}{transitions / base_transitions:>8.2f}"
            f"{jsonata_transitions:>17,.0f}{jsonata_transitions / transitions:>18.2f}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
