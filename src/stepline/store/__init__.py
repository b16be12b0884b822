"""Persistence for the stepline service: one ``Store`` interface, several backends.

- :class:`Store` — the protocol (state machines, revisions, versions, aliases, tags,
  executions, history, and the worker side: claims with leases, step commits, timers, stop).
- :class:`MemoryStore` — in process memory (tests, Express, ``stepline run``).
- :class:`SqliteStore` — one file, WAL, a single writer thread with group commit.
- :func:`open_store` — a store from a database URL; :func:`redacted_url` — one fit for logs.
- Wake-up signals across processes: ``subscribe``/``signal`` on the channels
  :data:`CHANNEL_EXECUTIONS` and :data:`CHANNEL_ACTIVITIES`.

Records are frozen dataclasses (:mod:`stepline.store._records`); errors derive from
:class:`StoreError`.
"""

from __future__ import annotations

from stepline.store._errors import (
    HistoryConflict,
    InvalidPageToken,
    LeaseLost,
    RecordNotFound,
    SchemaTooNew,
    StoreClosed,
    StoreConflict,
    StoreError,
    StoreUnavailable,
    TaskClosed,
)
from stepline.store._map_run_records import (
    MapRunChildRecord,
    MapRunChildStatus,
    MapRunCounts,
    MapRunRecord,
    MapRunStatus,
    MapRunStatusCounts,
)
from stepline.store._memory import MemoryStore
from stepline.store._open import open_store, redacted_url
from stepline.store._paging import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE
from stepline.store._protocol import Store
from stepline.store._records import (
    TERMINAL_STATUSES,
    ActivityRecord,
    AliasRecord,
    ClaimedExecution,
    ExecutionRecord,
    ExecutionStatus,
    HistoryEventRecord,
    Lease,
    Page,
    PendingEvent,
    RedriveStatus,
    StateMachineRecord,
    StateMachineRevisionRecord,
    StateMachineStatus,
    StateMachineType,
    StateMachineVersionRecord,
    StepCommit,
    TaskTokenRecord,
    TaskTokenStatus,
    TimerRecord,
)
from stepline.store._records_shared import KIND_CONNECTION, KIND_IAM, ServiceRecord
from stepline.store._signals import CHANNEL_ACTIVITIES, CHANNEL_EXECUTIONS
from stepline.store._sql import SCHEMA_VERSION
from stepline.store._sqlite import SqliteStore

__all__ = [
    "CHANNEL_ACTIVITIES",
    "CHANNEL_EXECUTIONS",
    "DEFAULT_PAGE_SIZE",
    "KIND_CONNECTION",
    "KIND_IAM",
    "MAX_PAGE_SIZE",
    "SCHEMA_VERSION",
    "TERMINAL_STATUSES",
    "ActivityRecord",
    "AliasRecord",
    "ClaimedExecution",
    "ExecutionRecord",
    "ExecutionStatus",
    "HistoryConflict",
    "HistoryEventRecord",
    "InvalidPageToken",
    "Lease",
    "LeaseLost",
    "MapRunChildRecord",
    "MapRunChildStatus",
    "MapRunCounts",
    "MapRunRecord",
    "MapRunStatus",
    "MapRunStatusCounts",
    "MemoryStore",
    "Page",
    "PendingEvent",
    "RecordNotFound",
    "RedriveStatus",
    "SchemaTooNew",
    "ServiceRecord",
    "SqliteStore",
    "StateMachineRecord",
    "StateMachineRevisionRecord",
    "StateMachineStatus",
    "StateMachineType",
    "StateMachineVersionRecord",
    "StepCommit",
    "Store",
    "StoreClosed",
    "StoreConflict",
    "StoreError",
    "StoreUnavailable",
    "TaskClosed",
    "TaskTokenRecord",
    "TaskTokenStatus",
    "TimerRecord",
    "open_store",
    "redacted_url",
]
