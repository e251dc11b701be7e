"""Records: the database of batches, records, pages and events, and the questions it answers."""

from sohoa.records import coverage, inventory, packages, premis, queries, store, summary
from sohoa.records.db import (
    check_schema,
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
from sohoa.records.reporting import collect_report_data

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
    "check_schema",
    "collect_report_data",
    "coverage",
    "database_session",
    "grant_auditor",
    "inventory",
    "make_engine",
    "open_database",
    "packages",
    "premis",
    "queries",
    "session_scope",
    "store",
    "summary",
    "upgrade",
]
