"""Read-only questions auditors and operators ask: status, failures, coverage, export."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session, selectinload

from sohoa.records.models import ARCHIVED_STATES, Batch, Event, Record, RecordState

COVERAGE_DIMENSIONS = {"procedure": Record.procedure, "batch": Batch.name}
UNCLASSIFIED = "(chưa phân loại)"


def state_counts(session: Session, batch_id: int | None = None) -> dict[str, int]:
    query = select(Record.state, func.count()).group_by(Record.state)
    if batch_id is not None:
        query = query.where(Record.batch_id == batch_id)
    counts = {state.value: 0 for state in RecordState}
    counts.update({state: n for state, n in session.execute(query)})
    return counts


@dataclass(frozen=True)
class Throughput:
    records: int  # archived (incl. needs_review)
    pages: int
    first_archived: dt.datetime | None
    last_archived: dt.datetime | None

    @property
    def pages_per_minute(self) -> float | None:
        if self.first_archived is None or self.last_archived is None:
            return None
        minutes = (self.last_archived - self.first_archived).total_seconds() / 60
        return self.pages / minutes if minutes > 0 else None


def throughput(session: Session, batch_id: int | None = None) -> Throughput:
    """Archived records and pages, and the span of their archiving times."""
    query = select(
        func.count(),
        func.coalesce(func.sum(Record.page_count), 0),
        func.min(Record.archived_at),
        func.max(Record.archived_at),
    ).where(Record.state.in_(ARCHIVED_STATES))
    if batch_id is not None:
        query = query.where(Record.batch_id == batch_id)
    records, pages, first, last = session.execute(query).one()
    return Throughput(int(records), int(pages), _aware(first), _aware(last))


def _aware(value: dt.datetime | None) -> dt.datetime | None:
    # Aggregates bypass the column type, so SQLite's naive UTC comes back as it is stored.
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    return value.replace(tzinfo=dt.UTC) if value is not None and value.tzinfo is None else value


@dataclass(frozen=True)
class Failure:
    uid: str
    rel_path: str
    reason: str
    message: str
    attempts: int
    batch: str


def failed_at_limit(session: Session, batch_id: int, max_attempts: int) -> int:
    """Failed records of the batch that a plain resume no longer retries."""
    query = select(func.count()).where(
        Record.batch_id == batch_id,
        Record.state == RecordState.FAILED,
        Record.attempts >= max_attempts,
    )
    return session.scalar(query) or 0


def failures(session: Session, batch_id: int | None = None) -> list[Failure]:
    query = (
        select(Record, Batch.name)
        .join(Batch, Batch.id == Record.batch_id)
        .where(Record.state == RecordState.FAILED)
        .order_by(Record.error_reason, Record.rel_path)
    )
    if batch_id is not None:
        query = query.where(Record.batch_id == batch_id)
    return [
        Failure(r.uid, r.rel_path, r.error_reason or "", r.error_message or "", r.attempts, name)
        for r, name in session.execute(query)
    ]


@dataclass(frozen=True)
class CoverageRow:
    group: tuple[str, ...]
    registered: int  # records known (duplicates excluded: they are copies, not dossiers)
    digitized: int  # records with a signed archive copy
    pages: int

    @property
    def percent(self) -> float:
        return 100.0 * self.digitized / self.registered if self.registered else 0.0


def coverage(session: Session, by: tuple[str, ...] = ()) -> list[CoverageRow]:
    """Digitized / registered records, overall (by=()) or grouped by the named dimensions."""
    columns = [COVERAGE_DIMENSIONS[name] for name in by]
    digitized = case((Record.state.in_(ARCHIVED_STATES), 1), else_=0)
    pages = case((Record.state.in_(ARCHIVED_STATES), Record.page_count), else_=0)
    query = (
        select(*columns, func.count(), func.sum(digitized), func.coalesce(func.sum(pages), 0))
        .join(Batch, Batch.id == Record.batch_id)
        .where(Record.state != RecordState.DUPLICATE)
        .group_by(*columns)
        .order_by(*columns)
    )
    rows = []
    for row in session.execute(query):
        *group, registered, done, page_count = row
        rows.append(
            CoverageRow(
                group=tuple(str(g) if g is not None else UNCLASSIFIED for g in group),
                registered=int(registered),
                digitized=int(done or 0),
                pages=int(page_count or 0),
            )
        )
    return rows


def export_rows(session: Session, batch_id: int | None = None) -> Iterator[dict[str, Any]]:
    """One dict per record with the fields of the `sohoa export` contract (DESIGN.md)."""
    query = (
        select(Record, Batch.name)
        .join(Batch, Batch.id == Record.batch_id)
        .options(selectinload(Record.pages))
        .order_by(Record.batch_id, Record.rel_path)
    )
    if batch_id is not None:
        query = query.where(Record.batch_id == batch_id)
    for record, batch_name in session.execute(query.execution_options(yield_per=500)):
        yield {
            "record_id": record.uid,
            "batch": batch_name,
            "source": record.rel_path,
            "state": record.state,
            "error": (
                f"{record.error_reason}: {record.error_message}" if record.error_reason else None
            ),
            "procedure": record.procedure,
            "procedure_code": record.procedure_code,
            "procedure_confidence": record.procedure_confidence,
            "pages": [
                {
                    "index": page.index,
                    "rotation": page.rotation,
                    "skew_deg": page.skew_deg,
                    "ocr_confidence": page.ocr_confidence,
                    "flags": list(page.flags),
                    "dpi": page.dpi,
                }
                for page in record.pages
            ],
            "text": "\f".join(page.text for page in record.pages),
            "output": record.output_path,
            "output_sha256": record.output_sha256,
            "content_hash": record.content_hash,
            "duplicate_of": record.duplicate_of_id and _uid(session, record.duplicate_of_id),
            "metadata": record.meta,
            # NĐ 30/2020 Phụ lục VI dossier fields (FileCode, Title, ...), also in `metadata`.
            "dossier": (record.meta or {}).get("dossier"),
            # true: signed with the TEST key of `sohoa init`, worth nothing in law
            "test_certificate": (record.meta or {}).get("signed_by", {}).get("test_certificate"),
        }


def _uid(session: Session, record_id: int) -> str | None:
    return session.scalar(select(Record.uid).where(Record.id == record_id))


@dataclass(frozen=True)
class ReviewItem:
    uid: str
    batch: str
    rel_path: str
    procedure: str | None
    confidence: float | None
    mean_ocr_confidence: float | None


def review_queue(
    session: Session,
    batch_id: int | None = None,
    procedure: str | None = None,
    below: float | None = None,
) -> list[ReviewItem]:
    """Records waiting for a person, least confident first."""
    query = (
        select(Record, Batch.name)
        .join(Batch, Batch.id == Record.batch_id)
        .where(Record.state == RecordState.NEEDS_REVIEW)
        .order_by(Record.procedure_confidence, Record.rel_path)
    )
    if batch_id is not None:
        query = query.where(Record.batch_id == batch_id)
    if procedure is not None:
        query = query.where(Record.procedure == procedure)
    if below is not None:
        query = query.where(Record.procedure_confidence < below)
    return [
        ReviewItem(r.uid, name, r.rel_path, r.procedure, r.procedure_confidence,
                   r.mean_ocr_confidence)
        for r, name in session.execute(query)
    ]  # fmt: skip


def latest_event(session: Session, record_id: int, kind: str) -> Event | None:
    return session.scalars(
        select(Event)
        .where(Event.record_id == record_id, Event.kind == kind)
        .order_by(Event.id.desc())
        .limit(1)
    ).first()
