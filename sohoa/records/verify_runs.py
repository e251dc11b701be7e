"""Runs of `sohoa verify`: which files a run still has to check, so that an interrupted run
continues where it stopped, and a `--sample N` run checks the same N files when continued."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, exists, func, select
from sqlalchemy.orm import Session

from sohoa.records.coverage import start_of_day
from sohoa.records.models import ARCHIVED_STATES, Event, Record, VerifyRun, utcnow
from sohoa.records.store import find_batch


@dataclass(frozen=True)
class Selection:
    """What one `sohoa verify` checks."""

    batch: str | None = None
    since: dt.date | None = None  # archived on or after this day
    sample: int | None = None  # this many files drawn at random from the rest of the selection

    def as_json(self) -> dict[str, Any]:
        return {
            "batch": self.batch,
            "since": self.since.isoformat() if self.since else None,
            "sample": self.sample,
        }


@dataclass(frozen=True)
class RunStart:
    run_id: int
    started_at: dt.datetime
    continued: bool  # an interrupted run of the same selection goes on
    files_done: int  # checked by its earlier part(s)
    failed_done: int


def _archived(session: Session, selection: Selection) -> Select[Any]:
    query = select(Record.id).where(Record.state.in_(ARCHIVED_STATES))
    if selection.batch:
        query = query.where(Record.batch_id == find_batch(session, selection.batch).id)
    if selection.since:
        query = query.where(Record.archived_at >= start_of_day(selection.since))
    return query


def start_run(session: Session, selection: Selection, restart: bool = False) -> RunStart:
    """Continue the newest unfinished run of the same selection, or begin a new one (always a
    new one with `restart`; the unfinished ones are then closed as given up)."""
    unfinished = session.scalars(
        select(VerifyRun).where(VerifyRun.finished_at.is_(None)).order_by(VerifyRun.id.desc())
    ).all()
    same = [run for run in unfinished if run.selection == selection.as_json()]
    if same and not restart:
        run = same[0]
        return RunStart(run.id, run.started_at, True, run.files, run.failed)
    if restart:
        for run in same:
            run.finished_at = utcnow()
    run = VerifyRun(selection=selection.as_json(), started_at=utcnow(), files=0, failed=0)
    if selection.sample is not None:
        drawn = _archived(session, selection).order_by(func.random()).limit(selection.sample)
        run.sampled_ids = sorted(session.scalars(drawn))
    session.add(run)
    session.flush()
    return RunStart(run.id, run.started_at, False, 0, 0)


def still_to_check(session: Session, selection: Selection, start: RunStart) -> Select[Any]:
    """Ids of the selection's archived records without a `verify` event since the run began."""
    run = session.get(VerifyRun, start.run_id)
    assert run is not None
    query = _archived(session, selection)
    if run.sampled_ids is not None:
        query = query.where(Record.id.in_(run.sampled_ids))
    checked = exists().where(
        Event.kind == "verify", Event.record_id == Record.id, Event.at >= start.started_at
    )
    return query.where(~checked)


def add_checked(session: Session, run_id: int, files: int, failed: int) -> None:
    """Count a chunk's verdicts, in the transaction that records them."""
    run = session.get(VerifyRun, run_id)
    assert run is not None
    run.files += files
    run.failed += failed


def finish_run(session: Session, run_id: int) -> VerifyRun:
    run = session.get(VerifyRun, run_id)
    assert run is not None
    run.finished_at = utcnow()
    return run
