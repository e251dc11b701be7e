"""Records: the database of batches, records, pages and events, and the questions it answers."""

from sohoa.records import coverage, inventory, queries, store
from sohoa.records.db import check_schema, grant_auditor, make_engine, session_scope, upgrade
from sohoa.records.models import (
    ARCHIVED_STATES,
    TODO_STATES,
    Batch,
    Event,
    InventoryItem,
    Page,
    Record,
    RecordState,
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
    "check_schema",
    "collect_report_data",
    "coverage",
    "grant_auditor",
    "inventory",
    "make_engine",
    "queries",
    "session_scope",
    "store",
    "upgrade",
]
