"""The driver's commit half: what finished on the workers is recorded, and the next records
are handed out, in one short transaction, retried while the database is away.

Exactly once: a record's result is written in the same transaction as the records handed out
after it, and a crash before the commit leaves the results' records `processing`, which a
resume redoes. Every result of a commit is written with one lookup of their rows, one insert
of their events and one upkeep of the summary and search index (`records.grouping`)."""

from __future__ import annotations

import os
import stat
import time
from dataclasses import replace
from pathlib import Path

from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from sohoa.errors import SohoaError
from sohoa.pipeline.outputs import ARCHIVE_FAULTS
from sohoa.pipeline.run_state import RunState, Saved
from sohoa.pipeline.staged import on_codes
from sohoa.pipeline.worker import RecordTask
from sohoa.records import Digest, EventRow, RecordOutcome, RecordState, session_scope, store
from sohoa.records.grouping import grouped, look_up_originals

HEARTBEAT_EVERY_S = 30.0
FIRST_RETRY_S, LONGEST_RETRY_S = 0.5, 15.0  # backoff between commits the database refused

Done = tuple[RecordTask, str, int, str]  # a finished record: task, state, pages, note


def record_kind(root: Path, rel_path: str) -> bool | None:
    """True for a folder record, False for a file, None when it is no longer there.

    Looked up when the record is handed out rather than kept from discovery, so that the
    driver holds nothing per waiting record; like discovery, links are not followed."""
    try:
        return stat.S_ISDIR(os.lstat(root / rel_path).st_mode)
    except FileNotFoundError:
        return None


def _task(run: RunState, uid: str, rel_path: str, is_dir: bool) -> RecordTask:
    return RecordTask(
        uid=uid, batch=run.batch, root=str(run.root), rel_path=rel_path, is_dir=is_dir
    )


def _source_missing(session: Session, run: RunState, uid: str, rel_path: str, done: list) -> None:
    """A record registered by an earlier run whose folder is gone fails with a reason."""
    message = "the record is no longer in the batch folder"
    outcome = RecordOutcome(uid, ok=False, error_reason="source_missing", error_message=message)
    state = store.commit_outcome(session, outcome).state
    done.append((_task(run, uid, rel_path, False), state, 0, f"source_missing: {message}"))


def _hand_out(session: Session, run: RunState, room: int, done: list) -> list[RecordTask]:
    """Take up to `room` records from the queue and mark them processing."""
    tasks: list[RecordTask] = []
    while len(tasks) < room:
        entry = run.queue.pop(session)
        if entry is None:
            break
        _id, uid, rel_path = entry
        run.taken.append(entry)
        is_dir = record_kind(run.root, rel_path)
        if is_dir is None:
            _source_missing(session, run, uid, rel_path, done)
        else:
            tasks.append(_task(run, uid, rel_path, is_dir))
    if run.names is not None and tasks:
        entries = run.names.entries_for(session, [task.rel_path for task in tasks])
        tasks = [replace(task, register=entry) for task, entry in zip(tasks, entries, strict=True)]
    if tasks:
        uids = [task.uid for task in tasks]
        store.set_state(session, uids, RecordState.PROCESSING, why="handed to a worker")
    return tasks


def _claim_hash(run: RunState, task: RecordTask, content_hash: str) -> None:
    """This record processes `content_hash`; its task is sent after the current batch."""
    run.hash_owner[content_hash] = task.uid
    run.expected[task.uid] = content_hash
    run.to_submit.append(task)


def _on_digest(
    session: Session, run: RunState, task: RecordTask, digest: Digest, done: list
) -> None:
    original = store.commit_digest(session, digest)
    task = replace(task, pages=digest.pages)
    if digest.error_reason:
        note = f"{digest.error_reason}: {digest.error_message}"
        done.append((task, RecordState.FAILED, 0, note))
    elif original is not None:
        done.append((task, RecordState.DUPLICATE, 0, f"same content as {original.uid}"))
    elif digest.content_hash in run.hash_owner:
        # The same content is being processed for another record right now: wait for it.
        run.waiting.setdefault(digest.content_hash, []).append(task)
    else:
        _claim_hash(run, task, digest.content_hash or "")


def _storage_fault(session: Session, run: RunState, outcome: RecordOutcome) -> bool:
    """The first write the archive refuses stops the run (the record fails with the reason);
    records that meet the same fault after it go back to pending with no attempt used."""
    if outcome.ok or outcome.error_reason not in ARCHIVE_FAULTS:
        return False
    if run.report.stopped is None:
        run.report.stopped = f"{outcome.error_reason}: {outcome.error_message}"
        return False
    store.set_state(session, [outcome.uid], RecordState.PENDING, why=run.report.stopped)
    return True


def _on_outcome(
    session: Session, run: RunState, task: RecordTask, outcome: RecordOutcome, done: list
) -> None:
    if _storage_fault(session, run, outcome):
        return
    content_hash = run.expected.pop(task.uid, "")
    run.hash_owner.pop(content_hash, None)
    waiting = run.waiting.pop(content_hash, [])
    record = store.commit_outcome(session, outcome)
    if outcome.ok:
        for twin in waiting:
            store.mark_duplicate(session, store.get_record(session, twin.uid), record)
        note = f"{outcome.procedure} {outcome.procedure_confidence:.2f}"
        done.append((task, record.state, len(outcome.pages), note))
        done.extend((t, RecordState.DUPLICATE, 0, f"same content as {task.uid}") for t in waiting)
    else:
        note = f"{outcome.error_reason}: {outcome.error_message}"
        done.append((task, record.state, 0, note))
        if waiting:  # the original failed: the next twin becomes the original
            first, *rest = waiting
            _claim_hash(run, first, content_hash)
            if rest:
                run.waiting[content_hash] = rest


def _on_codes(
    session: Session, run: RunState, task: RecordTask, found: dict | RecordOutcome, done: list
) -> None:
    """The codes on page 1 of a record read first (sohoa.pipeline.staged), or its failure
    when the worker reading it was lost."""
    if isinstance(found, RecordOutcome):
        run.reading.pop(task.uid, None)
        _on_outcome(session, run, task, found, done)
    else:
        on_codes(session, run, task, found)


def _worker_lost(tasks: list[RecordTask], kind: str, error: object) -> list:
    """The results of a task Dask gave up on (it killed workers repeatedly, or was cancelled):
    `error` is (type, exception, traceback) or the exception."""
    exception = error[1] if isinstance(error, tuple) else error
    reason = "worker_died"
    message = f"the worker running it was lost ({type(exception).__name__})"
    if kind == "digest":
        return [Digest(task.uid, None, (), reason, message) for task in tasks]
    return [
        RecordOutcome(t.uid, ok=False, error_reason=reason, error_message=message) for t in tasks
    ]


def note_worker_loss(run: RunState, event: tuple[float, dict]) -> None:
    """A scheduler event: keep the unexpected removal of a worker (its death)."""
    _at, message = event
    removed = isinstance(message, dict) and message.get("action") == "remove-worker"
    if removed and not message.get("expected"):
        tasks = sorted(str(key) for key in message.get("processing-tasks") or ())
        run.lost_workers.append({"worker": message.get("worker"), "tasks": tasks})


def record_worker_losses(session: Session, run: RunState) -> None:
    """Events for the losses not recorded yet (`Saved` puts the count back on a rollback)."""
    for detail in run.lost_workers[run.losses_recorded :]:
        row = EventRow("worker_lost", "warning", tool="dask", detail=detail)
        store.add_event(session, row, batch_id=run.batch_id, record_id=None)
    run.losses_recorded = len(run.lost_workers)


def _results(run: RunState, future: object, kind: str, tasks: list[RecordTask], result) -> list:
    """The per-record results of a finished task; [] when a pack's are redone one by one."""
    if future.status != "finished":  # KilledWorker, a lost connection, cancelled
        if len(tasks) > 1:
            # Which record of the pack lost the worker is unknown: each goes again alone.
            run.alone.update(task.uid for task in tasks)
            (run.handed if kind == "digest" else run.to_submit).extend(tasks)
            return []
        return _worker_lost(tasks, kind, result)
    if kind == "digest":
        return result
    if kind == "codes":
        return [result]
    for outcome, seconds in result:
        if outcome.ok:  # quick failures say nothing of how long a record takes
            run.note_seconds(seconds)
    return [outcome for outcome, _seconds in result]


def _commit(session: Session, run: RunState, batch: list, done: list) -> None:
    """Record what finished, hand out the next records, beat the heartbeat: one transaction."""
    record_worker_losses(session, run)
    digested = (result for future, result in batch
                if run.in_flight[future][0] == "digest" and future.status == "finished")
    look_up_originals(session, (digest.content_hash for found in digested for digest in found))
    for future, result in batch:
        kind, tasks = run.in_flight[future]
        handle = {"digest": _on_digest, "codes": _on_codes, "process": _on_outcome}[kind]
        results = _results(run, future, kind, tasks, result)
        for task, one in zip(tasks if results else (), results, strict=True):
            run.alone.discard(task.uid)
            handle(session, run, task, one, done)
    handled = {future for future, _result in batch}
    on_workers = (len(t) for f, (_kind, t) in run.in_flight.items() if f not in handled)
    busy = len(run.to_submit) + len(run.handed) + len(run.to_finish) + sum(on_workers)
    window = run.window
    if run.report.stopped is None and window - busy >= max(1, window // 2):
        run.handed.extend(_hand_out(session, run, window - busy, done))
    if time.monotonic() - run.last_beat > HEARTBEAT_EVERY_S:
        store.heartbeat(session, run.batch_id, run.owner)
        run.last_beat = time.monotonic()


def commit_with_retry(run: RunState, batch: list) -> list[Done]:
    """`_commit`, retried with backoff while the database is away (locked, restarting, the
    network down) for up to `run.db_retry_s`; the finished results wait in memory meanwhile.
    Then one line, and a resume finishes the batch."""
    deadline = time.monotonic() + run.db_retry_s
    pause = FIRST_RETRY_S
    uids = [task.uid for future, _result in batch for task in run.in_flight[future][1]]
    while True:
        saved = Saved.of(run)
        done: list[Done] = []
        try:
            with session_scope(run.factory) as session, grouped(session, uids):
                _commit(session, run, batch, done)
            return done
        except OperationalError as exc:
            saved.restore(run)
            if time.monotonic() + pause > deadline:
                reason = " ".join(str(exc.orig).split())
                raise SohoaError(
                    f"the database refused every commit for {run.db_retry_s:g} s "
                    f"(pipeline.db_retry_s): {reason}; stopped with {len(batch)} finished "
                    f"task(s) unrecorded: run 'sohoa resume {run.batch}' once it is back"
                ) from exc
            time.sleep(pause)
            pause = min(pause * 2, LONGEST_RETRY_S)
