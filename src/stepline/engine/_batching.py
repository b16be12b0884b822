"""``ItemBatcher``: grouping a Map state's items into batches, in both query languages.

Each batch becomes one iteration's input, ``{"Items": [...]}``, plus ``"BatchInput"`` when the
Map state has one. AWS caps a batch at the payload quota (256 KiB).
"""

from __future__ import annotations

from typing import Any, Final

from stepline.asl._json import dumps_bytes

__all__ = ["MAX_BATCH_BYTES", "group_into_batches"]

MAX_BATCH_BYTES: Final = 262_144


def group_into_batches(
    items: list[Any], max_items: int | None, max_bytes: int | None, batch_input: Any
) -> list[Any]:
    """Group ``items`` into ``ItemBatcher`` batches, ``{"Items": [...]}`` each (plus
    ``"BatchInput"`` when ``batch_input`` is not ``None``).

    A batch closes when it holds ``max_items`` items, or when the next item would take its
    ``Items`` array (as compact JSON) over ``max_bytes``; an item larger than that on its own
    still gets a batch of its own. ``None`` or 0 means no such limit.
    """
    batches: list[Any] = []
    current: list[Any] = []
    size = 2  # the brackets of the Items array
    for item in items:
        item_size = len(dumps_bytes(item)) + 1 if max_bytes else 0
        full = (max_items and len(current) >= max_items) or (
            max_bytes and current and size + item_size > max_bytes
        )
        if full:
            batches.append(current)
            current, size = [], 2
        current.append(item)
        size += item_size
    if current:
        batches.append(current)
    if batch_input is None:
        return [{"Items": batch} for batch in batches]
    return [{"BatchInput": batch_input, "Items": batch} for batch in batches]
