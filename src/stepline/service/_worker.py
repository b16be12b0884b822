"""The worker: claims runnable executions from the store and drives them (placeholder)."""

from __future__ import annotations

from stepline.service._context import ServiceContext

__all__ = ["Worker"]


class Worker:
    """Drives executions of the store; started and stopped with the server."""

    def __init__(self, context: ServiceContext) -> None:
        self.context = context

    async def start(self) -> None:
        """Begin claiming work."""

    async def stop(self) -> None:
        """Finish or release claimed work, then return."""
