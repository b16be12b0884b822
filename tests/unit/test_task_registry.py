"""TaskRegistry: callables and whole TaskInvoker objects, looked up as registered."""

from __future__ import annotations

from typing import Any

from stepline.tasks import TaskRegistry


class Invoker:
    async def invoke(self, effect: Any, heartbeat: Any) -> Any:
        return {"from": "invoker"}


def work(parameters: Any) -> Any:
    return parameters


def test_handler_returns_what_was_registered() -> None:
    invoker = Invoker()
    registry = TaskRegistry({"arn:aws:states:::stepline:work": work, "arn:x:invoker": invoker})
    assert registry.handler("arn:aws:states:::stepline:work") is work
    assert registry.handler("arn:x:invoker") is invoker
    assert registry.handler("arn:x:nothing") is None
    assert "arn:x:invoker" in registry
    assert sorted(registry) == ["arn:aws:states:::stepline:work", "arn:x:invoker"]
