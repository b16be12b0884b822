"""The in-memory store's RedriveExecution (a mixin of ``MemoryStore``).

Runs without awaiting, so on one event loop each call is atomic: of two concurrent redrives of
one execution, one changes it and the other sees it running.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from stepline.store._errors import RecordNotFound
from stepline.store._records import ExecutionRecord, PendingEvent
from stepline.store._redrive import REDRIVABLE_STATUSES, earlier_redrive
from stepline.store._rules import numbered
from stepline.store._signals import CHANNEL_EXECUTIONS, LocalSignals

__all__ = ["MemoryRedriveMixin"]


class MemoryRedriveMixin:
    """``redrive_execution`` over the in-memory runs."""

    if TYPE_CHECKING:
        _runs: dict[str, Any]
        _signals: LocalSignals

        def _open(self) -> None: ...

    async def redrive_execution(
        self,
        execution_arn: str,
        *,
        redrive_count: int,
        redrive_date: float,
        events: Sequence[PendingEvent],
        client_token: str | None = None,
    ) -> tuple[ExecutionRecord, float | None]:
        self._open()
        run = self._runs.get(execution_arn)
        if run is None:
            raise RecordNotFound("execution", execution_arn)
        if client_token is not None:
            earlier = earlier_redrive(run.redrives, client_token, redrive_date)
            if earlier is not None:
                return run.record, earlier
        record = run.record
        if record.status not in REDRIVABLE_STATUSES or record.redrive_count != redrive_count:
            return record, None
        appended = numbered(record.last_event_id, events)
        run.events.extend(appended)
        last = appended[-1].id if appended else record.last_event_id
        run.record = replace(
            record,
            status="RUNNING",
            stop_date=None,
            output=None,
            error=None,
            cause=None,
            redrive_count=redrive_count + 1,
            redrive_date=redrive_date,
            redrive_status=None,
            redrive_status_reason=None,
            last_event_id=last,
        )
        run.wake_at = redrive_date
        run.lease_owner = run.lease_token = None
        run.lease_expires_at = None
        if client_token is not None:
            run.redrives.append((client_token, redrive_date))
        self._signals.fire((CHANNEL_EXECUTIONS,))
        return run.record, redrive_date
