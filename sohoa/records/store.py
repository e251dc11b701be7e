"""State transitions of records, each one committed with its audit event.

Only the driver calls these: workers compute, one writer keeps transactions short.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict
from typing import Any

from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.orm import Session

from sohoa import __version__
from sohoa.errors import SohoaError
from sohoa.records import grouping
from sohoa.records.models import (
    ARCHIVED_STATES,
    Batch,
    Event,
    Page,
    Record,
    RecordState,
    utcnow,
)
from sohoa.records.outcome import Digest, EventRow, RecordOutcome
from sohoa.redact import redact

# The error reason of a record whose archived copy failed its fixity check.
DAMAGED = "damaged"
# A lock not refreshed for this long belongs to a driver that died (power cut, SIGKILL).
LOCK_STALE_AFTER = dt.timedelta(minutes=5)


def add_event(
    session: Session, row: EventRow, *, batch_id: int | None, record_id: int | None
) -> None:
    values = {"batch_id": batch_id, "record_id": record_id, "kind": row.kind,
              "outcome": row.outcome, "tool": row.tool, "tool_version": row.tool_version,
              "detail": row.detail}  # fmt: skip
    if not grouping.add_event_row(session, values):
        session.add(Event(**values))


def get_or_create_batch(session: Session, name: str, source: str, config: dict[str, Any]) -> Batch:
    """`config` is stored as the batch's snapshot with its credentials redacted."""
    config = redact(config)
    batch = session.scalar(select(Batch).where(Batch.name == name))
    if batch is None:
        batch = Batch(name=name, source=source, config=config)
        session.add(batch)
        session.flush()
        add_event(
            session, EventRow("batch", detail={"source": source}), batch_id=batch.id, record_id=None
        )
    elif batch.source != source:
        raise SohoaError(
            f"batch {name!r} was made from {batch.source}, not {source}: "
            "choose another --batch name"
        )
    batch.config = config
    return batch


def find_batch(session: Session, name: str | None) -> Batch:
    """The named batch, or the most recently started one."""
    query = select(Batch)
    query = query.where(Batch.name == name) if name else query.order_by(Batch.id.desc())
    batch = session.scalars(query.limit(1)).first()
    if batch is None:
        raise SohoaError(f"no batch named {name!r}" if name else "no batch has been run yet")
    return batch


def acquire_lock(
    session: Session, batch_id: int, owner: str, owner_is_dead: Callable[[str], bool]
) -> None:
    """Claim the batch for this driver, or say who holds it.

    A claim is taken over when its heartbeat is stale, or when `owner_is_dead` says its
    driver is gone (a process of this machine that no longer exists: power cut, SIGKILL).
    """
    now = utcnow()
    holder = session.execute(
        select(Batch.lock_owner).where(Batch.id == batch_id).with_for_update()
    ).scalar_one()
    takeover = [Batch.lock_owner == holder] if holder and owner_is_dead(holder) else []
    claimed = session.execute(
        update(Batch)
        .where(Batch.id == batch_id)
        .where(
            or_(
                Batch.lock_owner.is_(None),
                Batch.lock_owner == owner,
                Batch.lock_heartbeat < now - LOCK_STALE_AFTER,
                *takeover,
            )
        )
        .values(lock_owner=owner, lock_heartbeat=now, started_at=now, finished_at=None)
    ).rowcount
    if not claimed:
        batch = session.get(Batch, batch_id)
        assert batch is not None
        raise SohoaError(
            f"batch {batch.name!r} is running already ({batch.lock_owner}, last seen "
            f"{batch.lock_heartbeat:%Y-%m-%d %H:%M:%S}); wait for it to finish"
        )
    if holder and holder != owner:
        add_event(
            session,
            EventRow("takeover", detail={"previous_owner": holder}),
            batch_id=batch_id,
            record_id=None,
        )


def heartbeat(session: Session, batch_id: int, owner: str) -> None:
    session.execute(
        update(Batch)
        .where(Batch.id == batch_id, Batch.lock_owner == owner)
        .values(lock_heartbeat=utcnow())
    )


def release_lock(session: Session, batch_id: int, owner: str, *, finished: bool) -> None:
    values: dict[str, Any] = {"lock_owner": None, "lock_heartbeat": None}
    if finished:
        values["finished_at"] = utcnow()
    session.execute(
        update(Batch).where(Batch.id == batch_id, Batch.lock_owner == owner).values(**values)
    )


def register_records(session: Session, batch_id: int, found: Iterable[tuple[str, str]]) -> int:
    """Add the (uid, rel_path) pairs not known yet as pending; returns how many were new."""
    found = list(found)
    known: set[str] = set()
    # Only this chunk's paths are looked up: the whole batch's would be read once per chunk.
    for start in range(0, len(found), grouping.LOOKUP_CHUNK):
        paths = [rel_path for _uid, rel_path in found[start : start + grouping.LOOKUP_CHUNK]]
        known.update(session.scalars(
            select(Record.rel_path)
            .where(Record.batch_id == batch_id, Record.rel_path.in_(paths))
        ))  # fmt: skip
    new = [
        {"uid": uid, "batch_id": batch_id, "rel_path": rel_path}
        for uid, rel_path in found
        if rel_path not in known
    ]
    if new:
        session.execute(
            Record.__table__.insert(), [{**row, **_new_record_defaults()} for row in new]
        )
    return len(new)


def _new_record_defaults() -> dict[str, Any]:
    now = utcnow()
    return {
        "state": RecordState.PENDING,
        "attempts": 0,
        "source_files": [],
        "metadata": {},
        "created_at": now,
        "updated_at": now,
    }


def _to_do(batch_id: int, max_attempts: int, retry_all: bool) -> Any:
    retryable = Record.state == RecordState.FAILED
    if not retry_all:
        retryable = retryable & (Record.attempts < max_attempts)
    return (Record.batch_id == batch_id) & or_(
        Record.state.in_([RecordState.PENDING, RecordState.PROCESSING]), retryable
    )


def records_to_do(
    session: Session, batch_id: int, *, max_attempts: int, retry_all: bool,
    after: str | None = None, limit: int | None = None,
) -> list[tuple[int, str, str]]:
    """(id, uid, rel_path) of the records a run must (re)do, in path order; with `after` and
    `limit`, a page of them (keyset paging on the batch's unique path index)."""
    query = (
        select(Record.id, Record.uid, Record.rel_path)
        .where(_to_do(batch_id, max_attempts, retry_all))
        .order_by(Record.rel_path)
    )
    if after is not None:
        query = query.where(Record.rel_path > after)
    if limit is not None:
        query = query.limit(limit)
    return [tuple(row) for row in session.execute(query)]


def count_to_do(session: Session, batch_id: int, *, max_attempts: int, retry_all: bool) -> int:
    """How many records `records_to_do` would list."""
    query = select(func.count()).select_from(Record).where(
        _to_do(batch_id, max_attempts, retry_all)
    )
    return session.scalar(query) or 0


def set_state(session: Session, uids: list[str], state: RecordState, *, why: str) -> None:
    """Move records to `state` (processing when handed out, pending when taken back)."""
    session.execute(
        update(Record).where(Record.uid.in_(uids)).values(state=state, updated_at=utcnow())
    )
    moved = session.execute(
        select(Record.id, Record.batch_id, Record.inventory_item_id).where(Record.uid.in_(uids))
    ).all()
    for record_id, batch_id, _item_id in moved:
        add_event(
            session, EventRow("state", detail={"to": state.value, "why": why}),
            batch_id=batch_id, record_id=record_id,
        )  # fmt: skip
    grouping.upkeep(
        session,
        items=[item_id for _id, _batch, item_id in moved],  # coverage
        synced=[record_id for record_id, _batch, _item in moved],
    )


def get_record(session: Session, uid: str) -> Record:
    record = grouping.loaded_record(session, uid)
    if record is None:
        record = session.scalar(select(Record).where(Record.uid == uid))
    if record is None:
        raise LookupError(f"record {uid} vanished from the database")
    return record


def _fail(
    session: Session, record: Record, reason: str, message: str, events: Iterable[EventRow]
) -> None:
    record.state = RecordState.FAILED
    record.attempts += 1
    record.error_reason = reason
    record.error_message = message
    for row in events:
        add_event(session, row, batch_id=record.batch_id, record_id=record.id)
    add_event(
        session,
        EventRow(
            "fail",
            "failed",
            detail={"reason": reason, "message": message, "attempt": record.attempts},
        ),
        batch_id=record.batch_id,
        record_id=record.id,
    )
    # a signed copy may be gone
    grouping.upkeep(session, items=[record.inventory_item_id], synced=[record.id])


def mark_damaged(session: Session, record_id: int, problems: Sequence[str]) -> None:
    """`sohoa verify` found the signed copy gone or changed: the record fails as `damaged`,
    so its dossier no longer counts as digitized, and `sohoa resume` makes a new copy from
    the source (never modified). The verify event before this one keeps the evidence."""
    record = session.get(Record, record_id)
    if record is None:
        raise LookupError(f"record {record_id} vanished from the database")
    _fail(session, record, DAMAGED, "; ".join(problems), ())


def commit_digest(session: Session, digest: Digest) -> Record | None:
    """Store the record's hashes. Returns the archived original when this is a duplicate."""
    record = get_record(session, digest.uid)
    if digest.error_reason:
        _fail(session, record, digest.error_reason, digest.error_message or "", ())
        return None
    record.content_hash = digest.content_hash
    record.source_files = list(digest.source_files)
    add_event(
        session,
        EventRow(
            "digest",
            tool="sohoa",
            tool_version=__version__,
            detail={"algorithm": "sha256", "content_hash": digest.content_hash},
        ),
        batch_id=record.batch_id,
        record_id=record.id,
    )
    query = (
        select(Record)
        .where(Record.content_hash == digest.content_hash)
        .where(Record.state.in_(ARCHIVED_STATES))
        .where(Record.id != record.id)
        .limit(1)
    )
    known, original = grouping.original_in_group(session, digest.content_hash or "", record.id)
    if not known:
        original = session.scalar(query)
    if original is not None:
        mark_duplicate(session, record, original)
    return original


def mark_duplicate(session: Session, record: Record, original: Record) -> None:
    record.state = RecordState.DUPLICATE
    record.duplicate_of_id = original.id
    record.error_reason = record.error_message = None
    add_event(
        session,
        EventRow(
            "duplicate", detail={"original": original.uid, "content_hash": record.content_hash}
        ),
        batch_id=record.batch_id,
        record_id=record.id,
    )
    grouping.upkeep(session, items=[record.inventory_item_id])  # coverage


def commit_outcome(session: Session, outcome: RecordOutcome) -> Record:
    """Write a worker's result: archived / needs_review with pages, or failed."""
    record = get_record(session, outcome.uid)
    if not outcome.ok:
        _fail(
            session,
            record,
            outcome.error_reason or "error",
            outcome.error_message or "",
            outcome.events,
        )
        return record
    record.attempts += 1
    record.state = RecordState.NEEDS_REVIEW if outcome.needs_review else RecordState.ARCHIVED
    record.error_reason = record.error_message = None
    record.procedure = outcome.procedure
    record.procedure_code = outcome.procedure_code
    record.procedure_confidence = outcome.procedure_confidence
    record.classification_method = outcome.classification_method
    had_pages = bool(record.page_count)
    record.page_count = len(outcome.pages)
    confidences = [p.ocr_confidence for p in outcome.pages if p.ocr_confidence is not None]
    record.mean_ocr_confidence = sum(confidences) / len(confidences) if confidences else None
    record.output_path = outcome.output_path
    record.output_sha256 = outcome.output_sha256
    record.meta = outcome.metadata
    record.archived_at = utcnow()
    if had_pages:  # pages are only ever written here, with their count
        session.execute(delete(Page).where(Page.record_id == record.id))
    for page in outcome.pages:
        fields = asdict(page)
        fields["flags"] = list(page.flags)
        session.add(Page(record_id=record.id, **fields))
    for row in outcome.events:
        add_event(session, row, batch_id=record.batch_id, record_id=record.id)
    # new time and pages
    grouping.upkeep(session, items=[record.inventory_item_id], indexed=[record.id])
    grouping.note_archived(session, record)
    return record


def accept_review(session: Session, uid: str, reviewer: str) -> Record:
    """A person confirms the classifier's procedure: needs_review becomes archived."""
    record = get_record(session, uid)
    if record.state != RecordState.NEEDS_REVIEW:
        raise SohoaError(f"record {uid} is {record.state}, not needs_review: nothing to accept")
    record.state = RecordState.ARCHIVED
    record.classification_method = "review"
    add_event(
        session,
        EventRow("review", detail={"action": "accept", "procedure": record.procedure,
                                   "reviewer": reviewer}),
        batch_id=record.batch_id,
        record_id=record.id,
    )  # fmt: skip
    grouping.upkeep(session, items=[record.inventory_item_id], synced=[record.id])  # coverage
    return record
