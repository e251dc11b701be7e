"""The driver: plan a batch, keep a bounded window of records on the workers, commit the
results as they come in short transactions, and leave the database consistent on any exit.

Memory does not grow with the batch: discovery is registered in chunks as it streams, the
records still to hand out are one (id, uid, path) tuple each, and only the window's records
have tasks, futures and bookkeeping."""

from __future__ import annotations

import os
import socket
import stat
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Protocol

from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from sohoa.archive import identity_notes
from sohoa.config import Settings
from sohoa.errors import SohoaError
from sohoa.ingest import discover
from sohoa.pipeline.cluster import dashboard_address, dask_client, usable_cores
from sohoa.pipeline.context import WorkerSettings, record_uid, token_signing, worker_settings
from sohoa.pipeline.naming import RegisterNames
from sohoa.pipeline.outputs import ARCHIVE_FAULTS
from sohoa.pipeline.quarantine import set_aside_for_resume
from sohoa.pipeline.worker import RecordTask, digest_records, process_record
from sohoa.records import (
    Digest,
    EventRow,
    RecordOutcome,
    RecordState,
    inventory,
    open_database,
    queries,
    session_scope,
    store,
)

HEARTBEAT_EVERY_S = 30.0
FIRST_RETRY_S, LONGEST_RETRY_S = 0.5, 15.0  # backoff between commits the database refused
REGISTER_CHUNK = 20_000  # records registered per transaction while discovery streams
DIGEST_BATCH = 8  # records hashed per Dask task: a task costs about what hashing a record does


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
    engine: str = "tesseract"  # "null": benchmark of the driver, Dask and the database only


@dataclass
class RunReport:
    batch: str
    processed: int = 0  # records finished in this run, whatever their state
    pages: int = 0
    seconds: float = 0.0
    interrupted: bool = False
    stopped: str | None = None  # why the run stopped handing out work (the archive's storage)
    counts: dict[str, int] = field(default_factory=dict)  # the whole batch, after the run
    max_attempts: int = 0  # pipeline.max_attempts of this run
    failed_at_limit: int = 0  # failed records a plain resume will not retry (fix the source)

    @property
    def failed(self) -> int:
        return self.counts.get(RecordState.FAILED, 0)

    @property
    def waiting_for_review(self) -> int:
        return self.counts.get(RecordState.NEEDS_REVIEW, 0)

    @property
    def records(self) -> int:
        return sum(self.counts.values())


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
    # (id, uid, rel_path) of the records not handed out yet, the next one last: popping from
    # the end frees the list as the run goes, and no second copy of it is ever made.
    queue: list[tuple[int, str, str]] = field(default_factory=list)
    in_flight: dict[object, tuple[str, list[RecordTask]]] = field(default_factory=dict)
    hash_owner: dict[str, str] = field(default_factory=dict)  # content hash -> uid processing it
    waiting: dict[str, list[RecordTask]] = field(default_factory=dict)  # same hash, held back
    expected: dict[str, str] = field(default_factory=dict)  # uid -> content hash
    to_submit: list[RecordTask] = field(default_factory=list)  # digested, process not sent yet
    handed: list[RecordTask] = field(default_factory=list)  # marked processing, digest not sent
    # The last finished future of each kind, held so that Dask keeps its task group: when a
    # group empties, the scheduler starts a new group and span next time, and keeps the old
    # ones for good (a leak of a few KB per lull, which a 200,000-record batch would feel).
    keep: dict[str, object] = field(default_factory=dict)
    taken: list[tuple[int, str, str]] = field(default_factory=list)  # popped this transaction
    db_retry_s: float = 300.0  # how long commits are retried while the database is away
    # Workers Dask lost (killed, out of memory), noted by Dask's event thread as they go and
    # written as events with the next commit.
    lost_workers: list[dict] = field(default_factory=list)
    losses_recorded: int = 0
    last_beat: float = field(default_factory=time.monotonic)
    names: RegisterNames | None = None  # files named by the register at hand-out, if any


@dataclass
class _Saved:
    """What a transaction changes in the driver's memory, put back when it is rolled back (all
    bounded by the window but the queue, whose popped entries `_Run.taken` keeps)."""

    hash_owner: dict[str, str]
    waiting: dict[str, list[RecordTask]]
    expected: dict[str, str]
    to_submit: list[RecordTask]
    handed: list[RecordTask]
    stopped: str | None
    losses_recorded: int

    @classmethod
    def of(cls, run: _Run) -> _Saved:
        run.taken = []
        waiting = {key: list(tasks) for key, tasks in run.waiting.items()}
        return cls(dict(run.hash_owner), waiting, dict(run.expected), list(run.to_submit),
                   list(run.handed), run.report.stopped, run.losses_recorded)  # fmt: skip

    def restore(self, run: _Run) -> None:
        run.hash_owner, run.waiting, run.expected = self.hash_owner, self.waiting, self.expected
        run.to_submit, run.handed, run.report.stopped = self.to_submit, self.handed, self.stopped
        run.losses_recorded = self.losses_recorded
        run.queue.extend(reversed(run.taken))
        run.taken = []


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


def _register(factory: sessionmaker[Session], batch_id: int, batch: str, root: Path) -> None:
    """Register the records discovery finds, a chunk per transaction, as it finds them: the
    listing of a 200,000-record folder is never held a second time here."""
    chunk: list[tuple[str, str]] = []
    for ref in discover(root):
        chunk.append((record_uid(batch, ref.rel_path), ref.rel_path))
        if len(chunk) == REGISTER_CHUNK:
            with session_scope(factory) as session:
                store.register_records(session, batch_id, chunk)
            chunk = []
    if chunk:
        with session_scope(factory) as session:
            store.register_records(session, batch_id, chunk)


def _plan(
    factory: sessionmaker[Session], request: RunRequest, settings: Settings, owner: str
) -> tuple[int, str, Path, list[tuple[int, str, str]]]:
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
        with session_scope(factory) as session:
            set_aside_for_resume(session, settings, batch_id)  # evidence kept, not overwritten
        _register(factory, batch_id, name, root)
        with session_scope(factory) as session:
            max_attempts = settings.pipeline.max_attempts
            todo = store.records_to_do(
                session, batch_id, max_attempts=max_attempts, retry_all=request.retry_all
            )
    except BaseException:
        with session_scope(factory) as session:
            store.release_lock(session, batch_id, owner, finished=False)
        raise
    todo.reverse()
    return batch_id, name, root, todo


def _record_kind(root: Path, rel_path: str) -> bool | None:
    """True for a folder record, False for a file, None when it is no longer there.

    Looked up when the record is handed out rather than kept from discovery, so that the
    driver holds two strings per waiting record; like discovery, links are not followed."""
    try:
        return stat.S_ISDIR(os.lstat(root / rel_path).st_mode)
    except FileNotFoundError:
        return None


def _task(run: _Run, uid: str, rel_path: str, is_dir: bool) -> RecordTask:
    return RecordTask(
        uid=uid, batch=run.batch, root=str(run.root), rel_path=rel_path, is_dir=is_dir
    )


def _source_missing(session: Session, run: _Run, uid: str, rel_path: str, done: list) -> None:
    """A record registered by an earlier run whose folder is gone fails with a reason."""
    message = "the record is no longer in the batch folder"
    outcome = RecordOutcome(uid, ok=False, error_reason="source_missing", error_message=message)
    state = store.commit_outcome(session, outcome).state
    done.append((_task(run, uid, rel_path, False), state, 0, f"source_missing: {message}"))


def _hand_out(session: Session, run: _Run, room: int, done: list) -> list[RecordTask]:
    """Take up to `room` records from the queue and mark them processing."""
    tasks: list[RecordTask] = []
    while run.queue and len(tasks) < room:
        _id, uid, rel_path = entry = run.queue.pop()
        run.taken.append(entry)
        is_dir = _record_kind(run.root, rel_path)
        if is_dir is None:
            _source_missing(session, run, uid, rel_path, done)
        else:
            task = _task(run, uid, rel_path, is_dir)
            if run.names is not None:
                task = replace(task, register=run.names.entry_for(session, rel_path))
            tasks.append(task)
    if tasks:
        uids = [task.uid for task in tasks]
        store.set_state(session, uids, RecordState.PROCESSING, why="handed to a worker")
    return tasks


def _send_digests(client, run: _Run, completed) -> None:
    tasks, run.handed = run.handed, []
    # client.submit, not client.map: map tokenizes every argument, a cost per record.
    for start in range(0, len(tasks), DIGEST_BATCH):
        chunk = tasks[start : start + DIGEST_BATCH]
        future = client.submit(digest_records, chunk, key=f"digest-{chunk[0].uid}", pure=False)
        run.in_flight[future] = ("digest", chunk)
        completed.add(future)


def _claim_hash(run: _Run, task: RecordTask, content_hash: str) -> None:
    """This record processes `content_hash`; its task is sent after the current batch."""
    run.hash_owner[content_hash] = task.uid
    run.expected[task.uid] = content_hash
    run.to_submit.append(task)


def _send_processes(client, run: _Run, completed) -> None:
    if not run.to_submit:
        return
    tasks, run.to_submit = run.to_submit, []
    for task in tasks:
        key = f"process-{task.uid}"
        future = client.submit(
            process_record, task, run.expected[task.uid], run.settings, key=key, pure=False
        )
        run.in_flight[future] = ("process", [task])
        completed.add(future)


def _finish(run: _Run, task: RecordTask, state: str, pages: int, note: str) -> None:
    run.report.processed += 1
    run.report.pages += pages
    run.reporter.record_done(task.rel_path, state, pages, note)


def _on_digest(session: Session, run: _Run, task: RecordTask, digest: Digest, done: list) -> None:
    original = store.commit_digest(session, digest)
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


def _storage_fault(session: Session, run: _Run, outcome: RecordOutcome) -> bool:
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
    session: Session, run: _Run, task: RecordTask, outcome: RecordOutcome, done: list
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


def _note_worker_loss(run: _Run, event: tuple[float, dict]) -> None:
    """A scheduler event: keep the unexpected removal of a worker (its death)."""
    _at, message = event
    removed = isinstance(message, dict) and message.get("action") == "remove-worker"
    if removed and not message.get("expected"):
        tasks = sorted(str(key) for key in message.get("processing-tasks") or ())
        run.lost_workers.append({"worker": message.get("worker"), "tasks": tasks})


def _record_worker_losses(session: Session, run: _Run) -> None:
    """Events for the losses not recorded yet (`_Saved` puts the count back on a rollback)."""
    for detail in run.lost_workers[run.losses_recorded :]:
        row = EventRow("worker_lost", "warning", tool="dask", detail=detail)
        store.add_event(session, row, batch_id=run.batch_id, record_id=None)
    run.losses_recorded = len(run.lost_workers)


def _commit(session: Session, run: _Run, batch: list, window: int, done: list) -> None:
    """Record what finished, hand out the next records, beat the heartbeat: one transaction."""
    _record_worker_losses(session, run)
    for future, result in batch:
        kind, tasks = run.in_flight[future]
        results = result if kind == "digest" else [result]
        if future.status != "finished":  # KilledWorker, a lost connection, cancelled
            results = _worker_lost(tasks, kind, result)
        handle = _on_digest if kind == "digest" else _on_outcome
        for task, one in zip(tasks, results, strict=True):
            handle(session, run, task, one, done)
    handled = {future for future, _result in batch}
    busy = len(run.to_submit) + sum(
        len(tasks) for future, (_kind, tasks) in run.in_flight.items() if future not in handled
    )
    if run.report.stopped is None and window - busy >= max(1, window // 2):
        run.handed = _hand_out(session, run, window - busy, done)
    if time.monotonic() - run.last_beat > HEARTBEAT_EVERY_S:
        store.heartbeat(session, run.batch_id, run.owner)
        run.last_beat = time.monotonic()


def _commit_with_retry(run: _Run, batch: list, window: int) -> list:
    """`_commit`, retried with backoff while the database is away (locked, restarting, the
    network down) for up to `run.db_retry_s`; the finished results wait in memory meanwhile.
    Then one line, and a resume finishes the batch."""
    deadline = time.monotonic() + run.db_retry_s
    pause = FIRST_RETRY_S
    while True:
        saved = _Saved.of(run)
        done: list[tuple[RecordTask, str, int, str]] = []
        try:
            with session_scope(run.factory) as session:
                _commit(session, run, batch, window, done)
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


def _loop(client, run: _Run, window: int) -> None:
    """Commit results as they come and keep up to `window` records in flight.

    Dask's event loop fetches results as tasks finish; whatever finished meanwhile is one
    batch, committed in one short transaction together with handing out the next records, so
    that the driver's cost per record stays small beside a worker's. Records are handed out
    when half the window is free, so that their digests travel in few tasks. A crash before
    the commit leaves the batch's records `processing`, and a resume redoes them."""
    from distributed import as_completed

    completed = as_completed(with_results=True, raise_errors=False)
    client.subscribe_topic("all", lambda event: _note_worker_loss(run, event))
    batch: list = []
    while True:
        done = _commit_with_retry(run, batch, window)
        for future, _result in batch:  # committed: no longer in flight
            run.keep[run.in_flight.pop(future)[0]] = future
        for entry in done:
            _finish(run, *entry)
        if run.report.stopped is None:
            _send_processes(client, run, completed)
        _send_digests(client, run, completed)
        if completed.is_empty():
            return
        batch = completed.next_batch(block=True)


def run_batch(
    request: RunRequest,
    settings: Settings,
    reporter: Reporter,
    notice: Callable[[str], None] | None = None,
) -> RunReport:
    """Process every record of the batch not yet done; safe to repeat and to interrupt.
    `notice` hears, once everything is checked and before any record runs, what must be said
    about the signing identity (the TEST key, a certificate that expires soon)."""
    with open_database(settings.database_url) as factory:
        return _run_batch(factory, request, settings, reporter, notice)


def _run_batch(
    factory: sessionmaker[Session],
    request: RunRequest,
    settings: Settings,
    reporter: Reporter,
    notice: Callable[[str], None] | None,
) -> RunReport:
    work_settings = replace(worker_settings(settings), engine=request.engine)
    owner = _owner()
    batch_id, name, root, queue = _plan(factory, request, settings, owner)
    for note in identity_notes(work_settings.signer) if notice else ():
        notice(note)
    report = RunReport(batch=name)
    run = _Run(batch_id, name, root, owner, work_settings, factory, reporter, report, queue,
               db_retry_s=settings.pipeline.db_retry_s)  # fmt: skip
    if work_settings.engine != "null":
        with session_scope(factory) as session:
            run.names = RegisterNames.load(session)
    workers = request.workers or settings.pipeline.workers or usable_cores()
    per_worker = settings.pipeline.max_in_flight_per_worker
    started = time.monotonic()
    reporter.start(name, len(queue))
    finished = False
    failure: BaseException | None = None
    try:
        if queue:
            dashboard = dashboard_address(settings)
            with (
                token_signing(work_settings) as run.settings,
                dask_client(int(workers), request.scheduler, dashboard) as client,
            ):
                _loop(client, run, window=max(2, int(workers) * per_worker))
        finished = True
    except KeyboardInterrupt:
        report.interrupted = True
    except BaseException as exc:
        failure = exc
        raise
    finally:
        reporter.close()
        _settle_or_explain(factory, run, finished=finished, failure=failure)
    report.seconds = time.monotonic() - started
    with session_scope(factory) as session:
        # Newly archived dossiers count toward coverage at once.
        inventory.link_records(session, batch_id=batch_id)
        report.counts = queries.state_counts(session, batch_id)
        report.max_attempts = settings.pipeline.max_attempts
        report.failed_at_limit = queries.failed_at_limit(session, batch_id, report.max_attempts)
    return report


def _settle_or_explain(
    factory: sessionmaker[Session], run: _Run, *, finished: bool, failure: BaseException | None
) -> None:
    """`_settle`, or when the database is gone too, a line that a resume finishes the job
    (it redoes `processing` records); a run failing already keeps its own line."""
    try:
        _settle(factory, run, finished=finished)
    except (OperationalError, SohoaError) as exc:
        if failure is None:
            raise SohoaError(
                f"could not put the unfinished records back to pending ({exc}); "
                f"'sohoa resume {run.batch}' redoes them"
            ) from exc


def _settle(factory: sessionmaker[Session], run: _Run, *, finished: bool) -> None:
    """Put records that were handed out but not finished back to pending; release the batch."""
    unfinished = [task.uid for _kind, tasks in run.in_flight.values() for task in tasks]
    unfinished += [task.uid for tasks in run.waiting.values() for task in tasks]
    unfinished += [task.uid for task in (*run.to_submit, *run.handed)]
    with session_scope(factory) as session:
        _record_worker_losses(session, run)
        if unfinished:
            store.set_state(session, unfinished, RecordState.PENDING, why="run interrupted")
        store.release_lock(session, run.batch_id, run.owner, finished=finished)
