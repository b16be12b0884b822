"""Reading executions back through the API, and checking a history the way the crash and
scale-out acceptance tests need: contiguous ids, states entered as often as the definition
enters them, each task result recorded once."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from typing import Any

__all__ = ["full_history", "history_problems", "list_executions"]

_MAX_PAGES = 100


def list_executions(sfn: Any, machine_arn: str, status: str | None = None) -> list[dict[str, Any]]:
    """Every execution of ``machine_arn`` (of ``status``), all pages (at most 100)."""
    found: list[dict[str, Any]] = []
    request: dict[str, Any] = {"stateMachineArn": machine_arn, "maxResults": 1000}
    if status is not None:
        request["statusFilter"] = status
    for _ in range(_MAX_PAGES):
        page = sfn.list_executions(**request)
        found.extend(page["executions"])
        if "nextToken" not in page:
            break
        request["nextToken"] = page["nextToken"]
    return found


def full_history(sfn: Any, arn: str) -> list[dict[str, Any]]:
    """The whole history of one execution, oldest first."""
    events: list[dict[str, Any]] = []
    request: dict[str, Any] = {"executionArn": arn, "maxResults": 1000}
    for _ in range(_MAX_PAGES):
        page = sfn.get_execution_history(**request)
        events.extend(page["events"])
        if "nextToken" not in page:
            break
        request["nextToken"] = page["nextToken"]
    return events


def history_problems(
    arn: str,
    events: list[dict[str, Any]],
    expected_entered: Mapping[str, int],
    task_states: Iterable[str],
) -> list[str]:
    """What is wrong with one execution's history (empty: nothing).

    Args:
        arn: The execution (named in each problem).
        events: Its history.
        expected_entered: How often each state is entered (a loop-free definition).
        task_states: The Task states, each of which must record exactly one ``TaskSucceeded``.
    """
    problems: list[str] = []
    ids = [event["id"] for event in events]
    if ids != list(range(1, len(events) + 1)):
        problems.append(f"event ids are not 1..{len(events)}: {ids}")
    for event in events:
        previous = event.get("previousEventId", 0)
        if not 0 <= previous < event["id"]:
            problems.append(f"event {event['id']} has previousEventId {previous}")
    if events and events[0]["type"] != "ExecutionStarted":
        problems.append(f"the first event is {events[0]['type']}")
    entered: Counter[str] = Counter()
    succeeded: Counter[str] = Counter()
    current: str | None = None
    for event in events:
        if event["type"].endswith("StateEntered"):
            current = str(event["stateEnteredEventDetails"]["name"])
            entered[current] += 1
        elif event["type"] == "TaskSucceeded" and current is not None:
            succeeded[current] += 1
    if entered != Counter(expected_entered):
        problems.append(f"states entered {dict(entered)}, expected {dict(expected_entered)}")
    for state in task_states:
        if succeeded[state] != 1:
            problems.append(f"{state} recorded {succeeded[state]} TaskSucceeded events")
    return [f"{arn}: {problem}" for problem in problems]
