"""The worker reads a claim's tokens: an activity answered before the claim still shows
``ActivityStarted`` before its outcome."""

from __future__ import annotations

from stepline.asl import compile_definition
from stepline.engine import Execution, ExecutionIdentity, TaskEffect
from stepline.service._worker_tokens import read_claimed_tokens
from stepline.store import TaskTokenRecord

ACTIVITY = "arn:aws:states:us-east-1:123456789012:activity:work"


def test_an_activity_answered_before_the_claim_is_started_then_succeeds() -> None:
    compiled = compile_definition(
        {"StartAt": "Work", "States": {"Work": {"Type": "Task", "Resource": ACTIVITY, "End": True}}}
    )
    identity = ExecutionIdentity(
        "arn:aws:states:us-east-1:123456789012:stateMachine:M",
        "arn:aws:states:us-east-1:123456789012:execution:M:e",
        "arn:aws:iam::123456789012:role/r",
    )
    execution = Execution(compiled, {}, identity, lambda: 100.0)
    (effect,) = execution.advance()
    assert isinstance(effect, TaskEffect) and effect.task_token is not None
    answered = TaskTokenRecord(
        effect.task_token,
        identity.execution_arn,
        effect.id,
        "SUCCEEDED",
        100.0,
        activity_arn=ACTIVITY,
        worker_name="w1",
        started_at=101.0,
        completed_at=102.0,
        output='{"done": 1}',
    )
    found = read_claimed_tokens(execution, (answered,), {effect.id}, 103.0)
    assert found.reported == [effect.task_token] and found.close == [effect.task_token]
    ((effect_id, result, error, _, _),) = found.outcomes
    assert (effect_id, result, error) == (effect.id, {"done": 1}, None)
    for outcome in found.outcomes:
        execution.complete_task(outcome[0], outcome[1])
    execution.advance()
    types = [event.type for event in execution.events]
    assert types.index("ActivityScheduled") < types.index("ActivityStarted")
    assert types.index("ActivityStarted") < types.index("ActivitySucceeded")
    started = execution.events[types.index("ActivityStarted")]
    assert started.timestamp == 101.0 and started.details == {"workerName": "w1"}
