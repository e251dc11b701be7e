"""Records: the database of batches, records, pages and events, and the questions it answers."""

from importlib import import_module
from types import ModuleType

from sohoa.records.db import (
    check_schema,
    damaged_database,
    database_session,
    grant_auditor,
    make_engine,
    open_database,
    session_scope,
    upgrade,
)
from sohoa.records.models import (
    ARCHIVED_STATES,
    TODO_STATES,
    Batch,
    Event,
    InventoryItem,
    Page,
    Record,
    RecordState,
    TransferPackage,
)
from sohoa.records.outcome import Digest, EventRow, PageRow, RecordOutcome

# Imported on first use: `sohoa status` needs two of them, and importing all (the search
# index, the register import, the audit queries) cost it about 0.2 s of start-up.
_SUBMODULES = frozenset(
    {
        "accounts",
        "audit",
        "classifier_models",
        "coverage",
        "inventory",
        "packages",
        "pool",
        "premis",
        "queries",
        "record_view",
        "store",
        "summary",
        "verify_runs",
    }
)


def __getattr__(name: str) -> ModuleType:
    if name in _SUBMODULES:
        return import_module(f"sohoa.records.{name}")
    raise AttributeError(f"module 'sohoa.records' has no attribute {name!r}")

__all__ = [
    "ARCHIVED_STATES",
    "TODO_STATES",
    "Batch",
    "Digest",
    "Event",
    "EventRow",
    "InventoryItem",
    "Page",
    "PageRow",
    "Record",
    "RecordOutcome",
    "RecordState",
    "TransferPackage",
    "accounts",
    "audit",
    "check_schema",
    "classifier_models",
    "coverage",
    "damaged_database",
    "database_session",
    "grant_auditor",
    "inventory",
    "make_engine",
    "open_database",
    "packages",
    "pool",
    "premis",
    "queries",
    "record_view",
    "session_scope",
    "store",
    "summary",
    "upgrade",
    "verify_runs",
]
