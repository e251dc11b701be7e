"""The driver: plan a batch, keep a bounded window of records on the workers, commit the
results as they come in short transactions (`commits`), and leave the database consistent on
any exit.

Memory does not grow with the batch: discovery is registered in chunks as it streams, the
records still to hand out are read from the database a page at a time (`run_state`), and only
the window's records have tasks, futures and bookkeeping. Cheap records travel in packs of
several per Dask task, so that the scheduler's cost per task is shared."""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from sohoa.archive import identity_notes
from sohoa.config import Settings
from sohoa.errors import SohoaError
from sohoa.ingest import discover
from sohoa.pipeline.cluster import dashboard_address, dask_client, usable_cores
from sohoa.pipeline.commits import commit_with_retry, note_worker_loss, record_worker_losses
from sohoa.pipeline.context import record_uid, token_signing, worker_settings
from sohoa.pipeline.naming import RegisterNames
from sohoa.pipeline.quarantine import set_aside_for_resume
from sohoa.pipeline.run_state import Reporter, RunReport, RunState, TodoQueue
from sohoa.pipeline.staged import in_steps, note_part_pages, send_finishes, send_reading
from sohoa.pipeline.worker import RecordTask, digest_records, process_records
from sohoa.records import (
    RecordState,
    inventory,
    open_database,
    queries,
    session_scope,
    store,
)

__all__ = ["Reporter", "RunReport", "RunRequest", "run_batch"]

REGISTER_CHUNK = 20_000  # records registered per transaction while discovery streams
DIGEST_BATCH = 8  # records hashed per Dask task: a task costs about what hashing a record does


@dataclass(frozen=True)
class RunRequest:
    batch: str
    source: Path | None = None  # None: the batch's recorded source (resume)
    workers: int | None = None
    scheduler: str | None = None
    retry_all: bool = False
    engine: str = "tesseract"  # "null": benchmark of the driver, Dask and the database only


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
    listing of a million-record folder is never held (records are handed out in path order
    from the database, whatever order they were found in)."""
    chunk: list[tuple[str, str]] = []
    for ref in discover(root, ordered=False):
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
) -> tuple[int, str, Path, TodoQueue, int]:
    """Create or find the batch, claim it, register new records; returns what to do and how
    many records that is."""
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
        queue = TodoQueue(batch_id, settings.pipeline.max_attempts, request.retry_all)
        with session_scope(factory) as session:
            total = store.count_to_do(session, batch_id, max_attempts=queue.max_attempts,
                                      retry_all=queue.retry_all)  # fmt: skip
    except BaseException:
        with session_scope(factory) as session:
            store.release_lock(session, batch_id, owner, finished=False)
        raise
    return batch_id, name, root, queue, total


def _send_digests(client, run: RunState, completed) -> None:
    tasks, run.handed = run.handed, []
    size = max(DIGEST_BATCH, run.pack)
    chunks = [[task] for task in tasks if task.uid in run.alone]
    packed = [task for task in tasks if task.uid not in run.alone]
    chunks += [packed[start : start + size] for start in range(0, len(packed), size)]
    # client.submit, not client.map: map tokenizes every argument, a cost per record.
    for chunk in chunks:
        key = run.key("digest", chunk[0].uid)
        future = client.submit(digest_records, chunk, key=key, pure=False)
        run.in_flight[future] = ("digest", chunk)
        completed.add(future)


def _send_processes(client, run: RunState, completed) -> None:
    if not run.to_submit:
        return
    tasks, run.to_submit = run.to_submit, []
    size = run.pack
    chunks = [[task] for task in tasks if task.uid in run.alone]
    packed = [task for task in tasks if task.uid not in run.alone]
    chunks += [packed[start : start + size] for start in range(0, len(packed), size)]
    for chunk in chunks:
        if len(chunk) == 1 and in_steps(run, chunk[0]):
            send_reading(client, run, chunk[0], completed)
            continue
        hashes = [run.expected[task.uid] for task in chunk]
        key = run.key("process", chunk[0].uid)
        future = client.submit(process_records, chunk, hashes, run.settings, key=key, pure=False)
        run.in_flight[future] = ("process", chunk)
        completed.add(future)


def _finish(run: RunState, task: RecordTask, state: str, pages: int, note: str) -> None:
    run.report.processed += 1
    run.report.pages += pages
    shown = run.pages_shown.pop(task.uid, 0)
    run.reporter.record_done(task.rel_path, state, max(0, pages - shown), note)


def _loop(client, run: RunState) -> None:
    """Commit results as they come and keep up to `run.window` records in flight.

    Dask's event loop fetches results as tasks finish; whatever finished meanwhile is one
    batch, committed in one short transaction together with handing out the next records, so
    that the driver's cost per record stays small beside a worker's. Records are handed out
    when half the window is free, so that their digests travel in few tasks. A crash before
    the commit leaves the batch's records `processing`, and a resume redoes them."""
    from distributed import as_completed

    completed = as_completed(with_results=True, raise_errors=False)
    client.subscribe_topic("all", lambda event: note_worker_loss(run, event))
    batch: list = []
    while True:
        done = commit_with_retry(run, batch)
        for future, _result in batch:  # committed: no longer in flight
            run.keep[run.in_flight.pop(future)[0]] = future
        batch = []  # the results are written: nothing keeps them alive any longer
        for entry in done:
            _finish(run, *entry)
        if run.report.stopped is None:
            send_finishes(client, run, completed)
            _send_processes(client, run, completed)
        _send_digests(client, run, completed)
        if completed.is_empty():
            return
        batch = note_part_pages(run, completed.next_batch(block=True))


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
    batch_id, name, root, queue, total = _plan(factory, request, settings, owner)
    for note in identity_notes(work_settings.signer) if notice else ():
        notice(note)
    report = RunReport(batch=name)
    workers = int(request.workers or settings.pipeline.workers or usable_cores())
    run = RunState(batch_id, name, root, owner, work_settings, factory, reporter, report, queue,
                   workers=workers, per_worker=settings.pipeline.max_in_flight_per_worker,
                   db_retry_s=settings.pipeline.db_retry_s,
                   pages_per_task=settings.pipeline.pages_per_task)  # fmt: skip
    if work_settings.engine != "null":
        with session_scope(factory) as session:
            run.names = RegisterNames.load(session)
    started = time.monotonic()
    reporter.start(name, total)
    finished = False
    failure: BaseException | None = None
    try:
        if total:
            dashboard = dashboard_address(settings)
            with (
                token_signing(work_settings) as run.settings,
                dask_client(workers, request.scheduler, dashboard) as client,
            ):
                _loop(client, run)
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
    factory: sessionmaker[Session], run: RunState, *, finished: bool, failure: BaseException | None
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


def _settle(factory: sessionmaker[Session], run: RunState, *, finished: bool) -> None:
    """Put records that were handed out but not finished back to pending; release the batch."""
    unfinished = [task.uid for _kind, tasks in run.in_flight.values() for task in tasks]
    unfinished += [task.uid for tasks in run.waiting.values() for task in tasks]
    unfinished += [task.uid for task in (*run.to_submit, *run.handed)]
    unfinished += [task.uid for task, _entry in run.to_finish]
    with session_scope(factory) as session:
        record_worker_losses(session, run)
        if unfinished:
            store.set_state(session, unfinished, RecordState.PENDING, why="run interrupted")
        store.release_lock(session, run.batch_id, run.owner, finished=finished)
