"""One record as a reader sees it (`sohoa serve`'s record page and API): the dossier, its
NĐ 30 metadata, its pages and their OCR text, its signature and last verification, and its
events; the signed file to download; the batches as an operator sees them."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import case, func, select

from sohoa.records.models import (
    ARCHIVED_STATES,
    Batch,
    Event,
    InventoryItem,
    Page,
    Record,
    VerifyRun,
)

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

# Record ids are hex (uuid4().hex[:16] or the whole); anything else is not looked up.
RECORD_ID = re.compile(r"^[0-9a-f]{8,32}$")


@dataclass(frozen=True)
class PageView:
    number: int  # 1-based
    text: str
    ocr_confidence: float | None
    flags: list[Any]
    width: int
    height: int
    dpi: float


@dataclass(frozen=True)
class EventView:
    at: dt.datetime
    kind: str
    outcome: str
    tool: str | None
    tool_version: str | None
    detail: dict[str, Any]


@dataclass(frozen=True)
class RecordView:
    id: int
    uid: str
    batch: str
    rel_path: str
    state: str
    procedure: str | None
    procedure_code: str | None
    procedure_confidence: float | None
    page_count: int | None
    mean_ocr_confidence: float | None
    output_path: str | None
    output_sha256: str | None
    archived_at: dt.datetime | None
    error: str | None
    dossier: dict[str, Any]  # NĐ 30/2020 Phụ lục VI fields (metadata.dossier)
    register: dict[str, Any]  # the paper register's item, when linked
    signed_by: dict[str, Any]  # subject, test_certificate
    signed_at: dt.datetime | None  # the latest sign event
    signature_level: str | None
    last_verify: EventView | None
    pages: list[PageView] = field(default_factory=list)
    events: list[EventView] = field(default_factory=list)

    @property
    def has_file(self) -> bool:
        return self.state in ARCHIVED_STATES and bool(self.output_path)


def _event(event: Event) -> EventView:
    return EventView(event.at, event.kind, event.outcome, event.tool, event.tool_version,
                     event.detail or {})  # fmt: skip


def _record(session: Session, uid: str) -> Record | None:
    if not RECORD_ID.match(uid):
        return None
    return session.scalar(select(Record).where(Record.uid == uid))


def find_id(session: Session, uid: str) -> int | None:
    """The database id of a record, None if `uid` names none."""
    if not RECORD_ID.match(uid):
        return None
    return session.scalar(select(Record.id).where(Record.uid == uid))


def record_view(session: Session, uid: str, *, text: bool = True) -> RecordView | None:
    """The record `uid`, or None. `text=False` leaves out the pages' text and the events'
    details (for readers who may not see personal data)."""
    record = _record(session, uid)
    if record is None:
        return None
    meta = record.meta or {}
    register: dict[str, Any] = dict(meta.get("register") or {})
    if record.inventory_item_id is not None:
        item = session.get(InventoryItem, record.inventory_item_id)
        if item is not None:
            register = {"code": item.code, "title": item.title, "unit": item.unit,
                        "year": item.year, "location": item.location,
                        "expected_pages": item.expected_pages}  # fmt: skip
    events = list(session.scalars(
        select(Event).where(Event.record_id == record.id).order_by(Event.id)
    ))  # fmt: skip
    signs = [e for e in events if e.kind == "sign" and e.outcome == "ok"]
    verifies = [e for e in events if e.kind == "verify"]
    pages = list(session.scalars(
        select(Page).where(Page.record_id == record.id).order_by(Page.index)
    ))  # fmt: skip
    batch = session.scalar(select(Batch.name).where(Batch.id == record.batch_id)) or ""
    views = [_event(e) for e in events]
    if not text:
        views = [EventView(e.at, e.kind, e.outcome, e.tool, e.tool_version, {}) for e in views]
    return RecordView(
        id=record.id, uid=record.uid, batch=batch, rel_path=record.rel_path, state=record.state,
        procedure=record.procedure, procedure_code=record.procedure_code,
        procedure_confidence=record.procedure_confidence, page_count=record.page_count,
        mean_ocr_confidence=record.mean_ocr_confidence, output_path=record.output_path,
        output_sha256=record.output_sha256, archived_at=record.archived_at,
        error=record.error_reason,
        dossier=dict(meta.get("dossier") or {}) if text else {},
        register=register if text else {k: register.get(k) for k in ("code", "unit", "year")},
        signed_by=dict(meta.get("signed_by") or {}),
        signed_at=signs[-1].at if signs else None,
        signature_level=(signs[-1].detail or {}).get("level") if signs else None,
        last_verify=_event(verifies[-1]) if verifies else None,
        pages=[PageView(p.index + 1, p.text if text else "", p.ocr_confidence, p.flags or [],
                        p.width, p.height, p.dpi) for p in pages],
        events=views,
    )  # fmt: skip


@dataclass(frozen=True)
class SignedFile:
    record_id: int
    uid: str
    path: Path
    sha256: str | None
    name: str  # for Content-Disposition: the file's own name


def signed_file(session: Session, uid: str, archive_dir: Path) -> SignedFile | None:
    """The signed PDF/A of an archived record, None when there is none to give: no such
    record, not archived, or a path outside the archive (never followed)."""
    if not RECORD_ID.match(uid):
        return None
    row = session.execute(
        select(Record.id, Record.output_path, Record.output_sha256)
        .where(Record.uid == uid, Record.state.in_(ARCHIVED_STATES))
    ).first()  # fmt: skip
    if row is None or not row.output_path:
        return None
    path = Path(row.output_path).resolve()
    if not path.is_relative_to(archive_dir.resolve()) or not path.is_file():
        return None
    return SignedFile(row.id, uid, path, row.output_sha256, path.name)


@dataclass(frozen=True)
class BatchView:
    name: str
    source: str
    created_at: dt.datetime
    started_at: dt.datetime | None
    finished_at: dt.datetime | None
    running: bool  # a driver holds the batch's lock
    counts: dict[str, int]

    @property
    def total(self) -> int:
        return sum(self.counts.values())


def batches(session: Session) -> list[BatchView]:
    """Every batch with its records counted by state, newest first (one grouped query)."""
    counts: dict[int, dict[str, int]] = {}
    grouped = select(Record.batch_id, Record.state, func.count()).group_by(
        Record.batch_id, Record.state
    )
    for batch_id, state, n in session.execute(grouped):
        counts.setdefault(batch_id, {})[state] = int(n)
    held = case((Batch.lock_owner.is_not(None), True), else_=False)
    rows = session.execute(
        select(Batch.id, Batch.name, Batch.source, Batch.created_at, Batch.started_at,
               Batch.finished_at, held).order_by(Batch.id.desc())
    )  # fmt: skip
    return [
        BatchView(name, source, created, started, finished, bool(running), counts.get(bid, {}))
        for bid, name, source, created, started, finished, running in rows
    ]


@dataclass(frozen=True)
class RunView:
    started_at: dt.datetime
    finished_at: dt.datetime | None
    selection: dict[str, Any]
    files: int
    failed: int


def verify_runs(session: Session, limit: int = 20) -> list[RunView]:
    """The latest `sohoa verify` runs, newest first."""
    rows = session.scalars(select(VerifyRun).order_by(VerifyRun.id.desc()).limit(limit))
    return [RunView(r.started_at, r.finished_at, r.selection or {}, r.files, r.failed)
            for r in rows]  # fmt: skip
