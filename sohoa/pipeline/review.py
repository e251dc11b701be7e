"""The review loop: a person accepts the classifier's procedure, or sets another one; a
correction rebuilds the record's PDF/A under the new procedure and signs it again."""

from __future__ import annotations

import getpass
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.orm import Session

from sohoa.config import Settings
from sohoa.errors import SohoaError
from sohoa.pipeline.context import worker_settings
from sohoa.pipeline.register import register_entry
from sohoa.pipeline.worker import RecordTask, process_record
from sohoa.records import (
    EventRow,
    Record,
    RecordState,
    database_session,
    queries,
    store,
)


@dataclass(frozen=True)
class ReviewDetail:
    uid: str
    rel_path: str
    state: str
    procedure: str | None
    confidence: float | None
    candidates: list[list]  # [[procedure, score], ...] from the classifier
    excerpt: str  # the first lines of page 1


def _find(session: Session, uid: str) -> Record:
    try:
        return store.get_record(session, uid)
    except LookupError as exc:
        raise SohoaError(f"no record {uid!r}: see 'sohoa review list'") from exc


def show(settings: Settings, uid: str, excerpt_lines: int = 15) -> ReviewDetail:
    with database_session(settings.database_url) as session:
        record = _find(session, uid)
        event = queries.latest_event(session, record.id, "classify")
        first_page = record.pages[0].text if record.pages else ""
        return ReviewDetail(
            uid=record.uid,
            rel_path=record.rel_path,
            state=record.state,
            procedure=record.procedure,
            confidence=record.procedure_confidence,
            candidates=(event.detail.get("candidates", []) if event else []),
            excerpt="\n".join(first_page.splitlines()[:excerpt_lines]),
        )


def accept(settings: Settings, uids: list[str]) -> int:
    reviewer = getpass.getuser()
    with database_session(settings.database_url) as session:
        for uid in uids:
            _find(session, uid)
            store.accept_review(session, uid, reviewer)
    return len(uids)


def correct(settings: Settings, uid: str, procedure: str) -> str:
    """Rebuild and re-sign the record under `procedure`; returns the new output path."""
    with database_session(settings.database_url) as session:
        record = _find(session, uid)
        if record.state not in (RecordState.ARCHIVED, RecordState.NEEDS_REVIEW):
            raise SohoaError(f"record {uid} is {record.state}: only archived records are reviewed")
        root = Path(record.batch.source)
        task = RecordTask(uid, record.batch.name, str(root), record.rel_path,
                          (root / record.rel_path).is_dir())  # fmt: skip
        expected, previous = record.content_hash or "", record.procedure
        old_output = record.output_path
        # The rebuilt file keeps the dossier code and order number the current one carries.
        register = register_entry(record.meta or {})
    work = worker_settings(settings)
    known = {item["key"] for item in work.catalogue}
    if procedure not in known:
        raise SohoaError(f"unknown procedure {procedure!r}: choose from {', '.join(sorted(known))}")
    outcome = process_record(task, expected, work, reviewed=procedure, register=register)
    if not outcome.ok:
        raise SohoaError(f"record {uid} could not be rebuilt: {outcome.error_reason}: "
                         f"{outcome.error_message}")  # fmt: skip
    with database_session(settings.database_url) as session:
        record = store.commit_outcome(session, outcome)
        record.attempts -= 1  # a correction is not another processing attempt
        store.add_event(
            session,
            EventRow("review", detail={"action": "set", "from": previous, "to": procedure,
                                       "reviewer": getpass.getuser()}),
            batch_id=record.batch_id,
            record_id=record.id,
        )  # fmt: skip
    # Only once the database names the new file is the old one removed.
    if old_output and old_output != outcome.output_path:
        Path(old_output).unlink(missing_ok=True)
    return outcome.output_path or ""
