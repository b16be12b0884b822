"""TagResource, UntagResource and ListTagsForResource for state machines and activities.

Tags belong to unqualified state machine ARNs and activity ARNs, as on AWS; any other ARN is
``InvalidArn`` and one that names nothing is ``ResourceNotFound``. A resource holds at most 50
tags (``TooManyTags``). Activities come with a later issue: until the store knows them
(``get_activity``), an activity ARN is ``ResourceNotFound``.
"""

from __future__ import annotations

from typing import Any

from stepline.api import Handler, RequestContext
from stepline.service._arns import invalid_arn, parse_activity_arn, parse_states_arn
from stepline.service._arns import parse_state_machine_arn as _parse_machine
from stepline.service._context import ServiceContext
from stepline.service._sm_common import resource_not_found
from stepline.service._sm_config import check_tags

__all__ = ["handlers"]

_FIELD = "resourceArn"
_EXPECTED = (
    "a state machine ARN (arn:aws:states:<region>:<account>:stateMachine:<name>) or an "
    "activity ARN (arn:aws:states:<region>:<account>:activity:<name>)"
)


def handlers(context: ServiceContext) -> dict[str, Handler]:
    """The tag operations, by ``states:<Op>`` key."""
    ops = _TagOps(context)
    return {
        "states:TagResource": ops.tag,
        "states:UntagResource": ops.untag,
        "states:ListTagsForResource": ops.list,
    }


class _TagOps:
    def __init__(self, context: ServiceContext) -> None:
        self.store = context.store

    async def _checked(self, arn: str) -> None:
        """Refuse an ARN that cannot carry tags or names nothing."""
        parsed = parse_states_arn(arn, field=_FIELD, expected=_EXPECTED)
        if parsed.resource_type == "stateMachine":
            machine = _parse_machine(arn, field=_FIELD)
            if machine.qualified:
                raise invalid_arn(
                    f"Tags are not supported for versions and aliases: {arn}",
                    f"Tag the state machine '{machine.state_machine_arn}' instead.",
                )
            found = await self.store.get_state_machine(arn) is not None
        elif parsed.resource_type == "activity":
            parse_activity_arn(arn, field=_FIELD)
            get_activity = getattr(self.store, "get_activity", None)
            found = get_activity is not None and await get_activity(arn) is not None
        else:
            raise invalid_arn(
                f"Resource type not valid in this context: {parsed.resource_type}",
                f"Pass {_EXPECTED} as {_FIELD}.",
            )
        if not found:
            raise resource_not_found(
                "resource", arn, "Check the ARN (ListStateMachines shows the state machines)."
            )

    async def tag(self, request: dict[str, Any], _ctx: RequestContext) -> dict[str, Any]:
        arn: str = request["resourceArn"]
        await self._checked(arn)
        existing = await self.store.list_tags(arn)
        tags = check_tags(request["tags"], arn, existing)
        if tags:
            await self.store.tag_resource(arn, tags)
        return {}

    async def untag(self, request: dict[str, Any], _ctx: RequestContext) -> dict[str, Any]:
        arn: str = request["resourceArn"]
        await self._checked(arn)
        keys = request["tagKeys"]
        if keys:
            await self.store.untag_resource(arn, keys)
        return {}

    async def list(self, request: dict[str, Any], _ctx: RequestContext) -> dict[str, Any]:
        arn: str = request["resourceArn"]
        await self._checked(arn)
        tags = await self.store.list_tags(arn)
        return {"tags": [{"key": key, "value": value} for key, value in tags.items()]}
