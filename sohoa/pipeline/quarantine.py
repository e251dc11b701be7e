"""Evidence is set aside, never overwritten: a damaged copy (found by `sohoa verify`) and a
signed file that no record owns (a run stopped between writing it and recording it) are
moved to the quarantine folder, each with an event, before a resume makes new copies."""

from __future__ import annotations

import datetime as dt
import shutil
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from sohoa.config import Settings
from sohoa.records import EventRow, Record, database_session, store


@dataclass(frozen=True)
class SetAside:
    uid: str
    reason: str  # "damaged" or "orphan"
    source: Path
    target: Path


def _owned(session: Session) -> set[str]:
    paths = session.scalars(select(Record.output_path).where(Record.output_path.is_not(None)))
    return set(paths)


def find_orphans(session: Session, settings: Settings) -> list[Path]:
    """Signed files under the archive folder that no record names as its output."""
    owned = _owned(session)
    quarantine = settings.quarantine_dir
    return sorted(
        path
        for path in settings.archive_dir.rglob("*.pdf")
        if str(path) not in owned and quarantine not in path.parents
    )


def list_orphans(settings: Settings) -> list[Path]:
    """`sohoa verify --orphans`."""
    with database_session(settings.database_url) as session:
        return find_orphans(session, settings)


def _move(session: Session, record: Record, source: Path, folder: Path, reason: str) -> SetAside:
    target = folder / f"{reason}-{source.name}"
    folder.mkdir(parents=True, exist_ok=True)
    detail = {"reason": reason, "from": str(source), "to": str(target)}
    store.add_event(session, EventRow("quarantine", "warning", detail=detail),
                    batch_id=record.batch_id, record_id=record.id)  # fmt: skip
    shutil.move(source, target)
    return SetAside(record.uid, reason, source, target)


def set_aside_for_resume(session: Session, settings: Settings, batch_id: int) -> list[SetAside]:
    """Move the batch's damaged copies, and the orphans named after its records
    (`<record id>.pdf`), to <quarantine>/<batch id>/<time>/ before they are redone."""
    records = {r.uid: r for r in session.scalars(select(Record).where(Record.batch_id == batch_id))}
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S")
    folder = settings.quarantine_dir / str(batch_id) / stamp
    moved = []
    for record in records.values():
        if record.error_reason == store.DAMAGED and record.output_path:
            path = Path(record.output_path)
            if path.is_file():
                moved.append(_move(session, record, path, folder, "damaged"))
    for path in find_orphans(session, settings):
        record = records.get(path.stem)
        if record is not None:
            moved.append(_move(session, record, path, folder, "orphan"))
    return moved
