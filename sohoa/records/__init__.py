"""Records: the database of batches, records, pages and events, and the questions it answers."""

from sohoa.records import (
    audit,
    classifier_models,
    coverage,
    inventory,
    premis,
    queries,
    store,
    summary,
)
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
)
from sohoa.records.outcome import Digest, EventRow, PageRow, RecordOutcome

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
    "premis",
    "queries",
    "session_scope",
    "store",
    "summary",
    "upgrade",
]
