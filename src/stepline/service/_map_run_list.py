"""ListExecutions by ``mapRunArn``: a map run's Standard child executions.

As on AWS, the items then carry ``mapRunArn`` and ``itemCount`` (the items the child
processed: 1, or its batch's size). A map run of Express children lists none: they are not
stored (see docs/differences.md).
"""

from __future__ import annotations

from typing import Any

from stepline.api import ServiceError
from stepline.service._context import ServiceContext
from stepline.service._exec_shapes import list_item
from stepline.service._ops_map_runs import map_run_not_found, parse_map_run_arn
from stepline.store import InvalidPageToken

__all__ = ["list_map_run_executions"]


async def list_map_run_executions(
    context: ServiceContext, request: dict[str, Any]
) -> dict[str, Any]:
    """ListExecutions' answer for a ``mapRunArn`` request."""
    store = context.store
    arn = parse_map_run_arn(request["mapRunArn"])
    record = await store.get_map_run(arn)
    if record is None:
        raise map_run_not_found(arn)
    try:
        page = await store.list_executions(
            map_run_arn=arn,
            status=request.get("statusFilter"),
            max_results=request.get("maxResults") or 0,
            next_token=request.get("nextToken"),
        )
    except InvalidPageToken as exc:
        raise ServiceError("InvalidToken", str(exc)) from None
    counts = {}
    if page.items:
        counts = {
            child.execution_arn: child.item_count
            for child in await store.map_run_children(arn)
            if child.execution_arn is not None
        }
    items = []
    for execution in page.items:
        item = list_item(execution)
        item["itemCount"] = counts.get(execution.arn, 1)
        items.append(item)
    out: dict[str, Any] = {"executions": items}
    if page.next_token is not None:
        out["nextToken"] = page.next_token
    return out
