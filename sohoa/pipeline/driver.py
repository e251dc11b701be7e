"""The driver: plan a batch, keep a bounded window of tasks on the workers, commit each
result in its own short transaction, and leave the database consistent on any exit."""

from __future__ import annotations

import os
import socket
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from sqlalchemy.orm import Session, sessionmaker

from sohoa.config import Settings
from sohoa.ingest import discover
from sohoa.pipeline.cluster import dask_client, usable_cores
from sohoa.pipeline.context import WorkerSettings, record_uid, worker_settings
from sohoa.pipeline.worker import RecordTask, digest_record, process_record
from sohoa.records import (
    Digest,
    RecordOutcome,
    RecordState,
    inventory,
    open_database,
    queries,
    session_scope,
    store,
)

HEARTBEAT_EVERY_S = 30.0


class Reporter(Protocol):
    def start(self, batch: str, total: int) -> None: ...
    def record_done(self, rel_path: str, state: str, pages: int, note: str) -> None: ...
    def close(self) -> None: ...


@dataclass(frozen=True)
class RunRequest:
    batch: str
    source: Path | None = None  # None: the batch's recorded source (resume)
    workers: int | None = None
    scheduler: str | None = None
    retry_all: bool = False


@dataclass
class RunReport:
    batch: str
    processed: int = 0  # records finished in this run, whatever their state
    pages: int = 0
    seconds: float = 0.0
    interrupted: bool = False
    counts: dict[str, int] = field(default_factory=dict)  # the whole batch, after the run

    @property
    def failed(self) -> int:
        return self.counts.get(RecordState.FAILED, 0)


@dataclass
class _Run:
    """Mutable bookkeeping of one driver loop."""

    batch_id: int
    batch: str
    root: Path
    owner: str
    settings: WorkerSettings
    factory: sessionmaker[Session]
    reporter: Reporter
    report: RunReport
    queue: deque[tuple[str, str, bool]] = field(default_factory=deque)  # uid, rel_path, is_dir
    in_flight: dict[object, tuple[str, RecordTask]] = field(default_factory=dict)
    hash_owner: dict[str, str] = field(default_factory=dict)  # content hash -> uid processing it
    waiting: dict[str, list[RecordTask]] = field(default_factory=dict)  # same hash, held back
    expected: dict[str, str] = field(default_factory=dict)  # uid -> content hash


def _owner() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def _owner_is_dead(owner: str) -> bool:
    """True for a driver of this machine whose process is gone (killed, power cut)."""
    host, _, pid = owner.rpartition(":")
    if host != socket.gethostname() or not pid.isdigit():
        return False  # another machine's driver: only a stale heartbeat frees its claim
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


def _plan(factory: sessionmaker[Session], request: RunRequest, settings: Settings, owner: str):
    """Create or find the batch, claim it, register new records; returns what to do."""
    with session_scope(factory) as session:
        if request.source is None:
            batch = store.find_batch(session, request.batch)
            root = Path(batch.source)
        else:
            root = request.source.absolute()
            batch = store.get_or_create_batch(session, request.batch, str(root), settings.raw)
        store.acquire_lock(session, batch.id, owner, _owner_is_dead)
        batch_id, name = batch.id, batch.name
    try:
        refs = {ref.rel_path: ref for ref in discover(root)}
        with session_scope(factory) as session:
            store.register_records(session, batch_id, ((record_uid(name, p), p) for p in refs))
            max_attempts = int(settings.section("pipeline").get("max_attempts", 3))
            todo = store.records_to_do(
                session, batch_id, max_attempts=max_attempts, retry_all=request.retry_all
            )
    except BaseException:
        with session_scope(factory) as session:
            store.release_lock(session, batch_id, owner, finished=False)
        raise
    # A record registered earlier whose folder is gone fails with a reason, not silently.
    queue = deque((uid, path, refs[path].is_dir) for _id, uid, path in todo if path in refs)
    missing = [uid for _id, uid, path in todo if path not in refs]
    if missing:
        with session_scope(factory) as session:
            for uid in missing:
                store.commit_outcome(
                    session,
                    RecordOutcome(uid, ok=False, error_reason="source_missing",
                                  error_message="the record is no longer in the batch folder"),
                )  # fmt: skip
    return batch_id, name, root, queue


def _task(run: _Run, uid: str, rel_path: str, is_dir: bool) -> RecordTask:
    return RecordTask(
        uid=uid, batch=run.batch, root=str(run.root), rel_path=rel_path, is_dir=is_dir
    )


def _submit_next(client, run: _Run, completed) -> None:
    uid, rel_path, is_dir = run.queue.popleft()
    with session_scope(run.factory) as session:
        store.set_state(session, [uid], RecordState.PROCESSING, why="handed to a worker")
    task = _task(run, uid, rel_path, is_dir)
    future = client.submit(digest_record, task, key=f"digest-{uid}", pure=False)
    run.in_flight[future] = ("digest", task)
    completed.add(future)


def _submit_process(client, run: _Run, task: RecordTask, content_hash: str, completed) -> None:
    run.hash_owner[content_hash] = task.uid
    run.expected[task.uid] = content_hash
    future = client.submit(
        process_record, task, content_hash, run.settings, key=f"process-{task.uid}", pure=False
    )
    run.in_flight[future] = ("process", task)
    completed.add(future)


def _finish(run: _Run, task: RecordTask, state: str, pages: int, note: str) -> None:
    run.report.processed += 1
    run.report.pages += pages
    run.reporter.record_done(task.rel_path, state, pages, note)


def _on_digest(client, run: _Run, task: RecordTask, digest: Digest, completed) -> None:
    with session_scope(run.factory) as session:
        original = store.commit_digest(session, digest)
        original_uid = original.uid if original is not None else None
    if digest.error_reason:
        _finish(run, task, RecordState.FAILED, 0, f"{digest.error_reason}: {digest.error_message}")
    elif original_uid:
        _finish(run, task, RecordState.DUPLICATE, 0, f"same content as {original_uid}")
    elif digest.content_hash in run.hash_owner:
        # The same content is being processed for another record right now: wait for it.
        run.waiting.setdefault(digest.content_hash, []).append(task)
    else:
        _submit_process(client, run, task, digest.content_hash or "", completed)


def _on_outcome(client, run: _Run, task: RecordTask, outcome: RecordOutcome, completed) -> None:
    content_hash = run.expected.pop(task.uid, "")
    run.hash_owner.pop(content_hash, None)
    waiting = run.waiting.pop(content_hash, [])
    with session_scope(run.factory) as session:
        record = store.commit_outcome(session, outcome)
        if outcome.ok:
            for twin in waiting:
                store.mark_duplicate(session, store.get_record(session, twin.uid), record)
        state = record.state
    if outcome.ok:
        note = f"{outcome.procedure} {outcome.procedure_confidence:.2f}"
        _finish(run, task, state, len(outcome.pages), note)
        for twin in waiting:
            _finish(run, twin, RecordState.DUPLICATE, 0, f"same content as {task.uid}")
    else:
        _finish(run, task, state, 0, f"{outcome.error_reason}: {outcome.error_message}")
        if waiting:  # the original failed: the next twin becomes the original
            first, *rest = waiting
            _submit_process(client, run, first, content_hash, completed)
            if rest:
                run.waiting[content_hash] = rest


def _worker_lost(task: RecordTask, kind: str, exc: BaseException) -> object:
    reason, message = "worker_died", f"the worker running it was lost ({type(exc).__name__})"
    if kind == "digest":
        return Digest(task.uid, None, (), reason, message)
    return RecordOutcome(task.uid, ok=False, error_reason=reason, error_message=message)


def _loop(client, run: _Run, window: int) -> None:
    from distributed import as_completed

    completed = as_completed()
    while run.queue and len(run.in_flight) < window:
        _submit_next(client, run, completed)
    last_beat = time.monotonic()
    for future in completed:
        kind, task = run.in_flight.pop(future)
        try:
            result = future.result()
        except Exception as exc:  # KilledWorker, a worker's lost connection
            result = _worker_lost(task, kind, exc)
        if kind == "digest":
            _on_digest(client, run, task, result, completed)
        else:
            _on_outcome(client, run, task, result, completed)
        while run.queue and len(run.in_flight) < window:
            _submit_next(client, run, completed)
        if time.monotonic() - last_beat > HEARTBEAT_EVERY_S:
            with session_scope(run.factory) as session:
                store.heartbeat(session, run.batch_id, run.owner)
            last_beat = time.monotonic()


def run_batch(request: RunRequest, settings: Settings, reporter: Reporter) -> RunReport:
    """Process every record of the batch not yet done; safe to repeat and to interrupt."""
    with open_database(settings.database_url) as factory:
        return _run_batch(factory, request, settings, reporter)


def _run_batch(
    factory: sessionmaker[Session], request: RunRequest, settings: Settings, reporter: Reporter
) -> RunReport:
    work_settings = worker_settings(settings)
    owner = _owner()
    batch_id, name, root, queue = _plan(factory, request, settings, owner)
    report = RunReport(batch=name)
    run = _Run(batch_id, name, root, owner, work_settings, factory, reporter, report, queue)
    workers = request.workers or settings.section("pipeline").get("workers") or usable_cores()
    per_worker = int(settings.section("pipeline").get("max_in_flight_per_worker", 2))
    started = time.monotonic()
    reporter.start(name, len(queue))
    finished = False
    try:
        if queue:
            with dask_client(int(workers), request.scheduler) as client:
                _loop(client, run, window=max(2, int(workers) * per_worker))
        finished = True
    except KeyboardInterrupt:
        report.interrupted = True
    finally:
        reporter.close()
        _settle(factory, run, finished=finished)
    report.seconds = time.monotonic() - started
    with session_scope(factory) as session:
        inventory.link_records(session)  # newly archived dossiers count toward coverage at once
        report.counts = queries.state_counts(session, batch_id)
    return report


def _settle(factory: sessionmaker[Session], run: _Run, *, finished: bool) -> None:
    """Put records that were handed out but not finished back to pending; release the batch."""
    unfinished = [task.uid for _kind, task in run.in_flight.values()]
    unfinished += [task.uid for tasks in run.waiting.values() for task in tasks]
    with session_scope(factory) as session:
        if unfinished:
            store.set_state(session, unfinished, RecordState.PENDING, why="run interrupted")
        store.release_lock(session, run.batch_id, run.owner, finished=finished)
