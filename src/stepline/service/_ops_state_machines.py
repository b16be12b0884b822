"""Operations of the service (placeholder until its module is written)."""

from __future__ import annotations

from stepline.api import Handler
from stepline.service._context import ServiceContext

__all__ = ["handlers"]


def handlers(context: ServiceContext) -> dict[str, Handler]:
    """The handlers of this module, by "service:Operation" key."""
    return {}
