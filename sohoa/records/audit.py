"""What an auditor's report asks of the database besides coverage (coverage.py): failures
by reason, records waiting for review, archived copies by their latest verification,
register items never scanned, and records archived per day."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from sqlalchemy import exists, func, select
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from sohoa.records.coverage import per_local_day
from sohoa.records.models import ARCHIVED_STATES, Event, InventoryItem, Record, RecordState


@dataclass(frozen=True)
class UnscannedItem:
    """A register item no record is linked to: paper still to be scanned."""

    code: str
    title: str
    unit: str
    year: int | None
    location: str  # where the paper is kept (kho, giá, hộp)


def _by_count(rows: list[tuple[str, int]]) -> list[tuple[str, int]]:
    return sorted(rows, key=lambda row: (-row[1], row[0]))


def failures_by_reason(session: Session) -> list[tuple[str, int]]:
    """(reason code, failed records), most first; a failure without a reason is "error"."""
    query = (
        select(Record.error_reason, func.count())
        .where(Record.state == RecordState.FAILED)
        .group_by(Record.error_reason)
    )
    return _by_count([(reason or "error", int(n)) for reason, n in session.execute(query)])


def reviews_by_procedure(session: Session) -> list[tuple[str, int]]:
    """(procedure key, "" if none, records in needs_review), most first."""
    query = (
        select(Record.procedure, func.count())
        .where(Record.state == RecordState.NEEDS_REVIEW)
        .group_by(Record.procedure)
    )
    return _by_count([(key or "", int(n)) for key, n in session.execute(query)])


def latest_verify_outcomes(session: Session) -> dict[str | None, int]:
    """Archived records by the outcome of their latest `verify` event (None: never run)."""
    latest = (
        select(Event.record_id, func.max(Event.id).label("event_id"))
        .where(Event.kind == "verify")
        .group_by(Event.record_id)
        .subquery("latest")
    )
    query = (
        select(Event.outcome, func.count())
        .select_from(Record)
        .outerjoin(latest, latest.c.record_id == Record.id)
        .outerjoin(Event, Event.id == latest.c.event_id)
        .where(Record.state.in_(ARCHIVED_STATES))
        .group_by(Event.outcome)
    )
    return {outcome: int(n) for outcome, n in session.execute(query)}


def _not_scanned() -> ColumnElement[bool]:
    """No record, in any state, is linked to the item: its paper was never scanned."""
    return ~exists().where(Record.inventory_item_id == InventoryItem.id)


def unscanned_count(session: Session) -> int:
    query = select(func.count()).select_from(InventoryItem).where(_not_scanned())
    return int(session.scalar(query) or 0)


def unscanned_items(session: Session, limit: int) -> list[UnscannedItem]:
    """The first `limit` register items never scanned, by code."""
    query = (
        select(
            InventoryItem.code,
            InventoryItem.title,
            InventoryItem.unit,
            InventoryItem.year,
            InventoryItem.location,
        )
        .where(_not_scanned())
        .order_by(InventoryItem.code)
        .limit(limit)
    )
    return [
        UnscannedItem(code, title or "", unit or "", year, location or "")
        for code, title, unit, year, location in session.execute(query)
    ]


def archived_per_day(session: Session, zone: ZoneInfo) -> list[tuple[dt.date, int]]:
    """(day in `zone`, records archived that day): the burn-up without a register."""
    archived = Record.state.in_(ARCHIVED_STATES)
    return per_local_day(session, Record.archived_at, zone, archived)


def test_signed(session: Session, limit: int) -> tuple[int, list[tuple[str, str]]]:
    """Archived records whose file the TEST key of `sohoa init` signed: how many, and the
    first `limit` of them (record id, file), by id."""
    signed_by_test = Record.meta["signed_by"]["test_certificate"].as_boolean().is_(True)
    archived = Record.state.in_(ARCHIVED_STATES) & signed_by_test
    total = session.scalar(select(func.count()).select_from(Record).where(archived)) or 0
    first = session.execute(
        select(Record.uid, Record.output_path).where(archived).order_by(Record.id).limit(limit)
    )
    return total, [(uid, path or "") for uid, path in first]
