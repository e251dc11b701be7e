"""The driver's memory of one run: what is still to hand out (read a page at a time), what is
on the workers, and how many cheap records one Dask task carries.

Everything here is bounded by the window of records in flight, except nothing: the records
still to do stay in the database and are read in pages of `TODO_PAGE`, so the driver's memory
is the same for 10^4 and 10^6 records."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from sqlalchemy.orm import Session, sessionmaker

from sohoa.archive import RegisterEntry
from sohoa.pipeline.cluster import TASK_NAMES_KEPT, forget_task_names
from sohoa.pipeline.context import WorkerSettings
from sohoa.pipeline.naming import RegisterNames
from sohoa.pipeline.worker import RecordTask
from sohoa.records import RecordState, store

TODO_PAGE = 2_000  # records read per query of the records still to hand out
# A pack of cheap records (duplicates' twins, the null engine, tiny pages) is sized to take
# about PACK_TARGET_S on a worker: a Dask task costs the scheduler and the driver about a
# millisecond whatever it carries. Records of seconds of OCR go one per task (pack 1), so
# that none waits behind another on a busy worker while a worker is idle.
PACK_TARGET_S = 0.5
MAX_PACK = 32
TIME_WEIGHT = 0.2  # weight of the latest record's seconds in the running estimate


class Reporter(Protocol):
    def start(self, batch: str, total: int) -> None: ...
    def pages_read(self, rel_path: str, pages: int) -> None: ...  # of a big record, so far
    def record_done(self, rel_path: str, state: str, pages: int, note: str) -> None: ...
    def close(self) -> None: ...


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
class TodoQueue:
    """The records a run must (re)do, in path order, read from the database a page at a
    time after the last path read (keyset paging): records handed out in this run are
    `processing` and behind the cursor, so none is read twice."""

    batch_id: int
    max_attempts: int
    retry_all: bool
    page: list[tuple[int, str, str]] = field(default_factory=list)  # the next one last
    after: str | None = None
    exhausted: bool = False

    def pop(self, session: Session) -> tuple[int, str, str] | None:
        if not self.page and not self.exhausted:
            found = store.records_to_do(
                session, self.batch_id, max_attempts=self.max_attempts,
                retry_all=self.retry_all, after=self.after, limit=TODO_PAGE,
            )  # fmt: skip
            self.exhausted = len(found) < TODO_PAGE
            if found:
                self.after = found[-1][2]
            found.reverse()
            self.page = found
        return self.page.pop() if self.page else None

    def push_back(self, entries: list[tuple[int, str, str]]) -> None:
        """Entries popped in a transaction that was rolled back, in the order popped."""
        self.page.extend(reversed(entries))


@dataclass
class RunState:
    """Mutable bookkeeping of one driver loop."""

    batch_id: int
    batch: str
    root: Path
    owner: str
    settings: WorkerSettings
    factory: sessionmaker[Session]
    reporter: Reporter
    report: RunReport
    queue: TodoQueue
    workers: int = 2
    per_worker: int = 8  # pipeline.max_in_flight_per_worker: records of one task each
    in_flight: dict[object, tuple[str, list[RecordTask]]] = field(default_factory=dict)
    hash_owner: dict[str, str] = field(default_factory=dict)  # content hash -> uid processing it
    waiting: dict[str, list[RecordTask]] = field(default_factory=dict)  # same hash, held back
    expected: dict[str, str] = field(default_factory=dict)  # uid -> content hash
    to_submit: list[RecordTask] = field(default_factory=list)  # digested, process not sent yet
    handed: list[RecordTask] = field(default_factory=list)  # marked processing, digest not sent
    # Records of a pack whose worker was lost: each goes again in a task of its own, so that
    # the one that kills workers fails alone, with its own reason (`worker_died`).
    alone: set[str] = field(default_factory=set)
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
    record_s: float | None = None  # running estimate of a finished record's worker seconds
    submitted: int = 0  # tasks sent: their keys must never repeat (a kept key would be reused)
    names: RegisterNames | None = None  # files named by the register at hand-out, if any
    pages_per_task: int = 8  # pipeline.pages_per_task: a bigger record is read in parts
    # The small tasks that count a part's pages as it is read (the driver's progress), and
    # the pages of each unfinished record counted so: the record's own count is the rest.
    page_counters: dict[object, RecordTask] = field(default_factory=dict)
    pages_shown: dict[str, int] = field(default_factory=dict)
    # Records read, waiting to be named by a code on their page 1: their parts' futures, and
    # those whose name the current commit decided (sent after it; sohoa.pipeline.staged).
    reading: dict[str, list] = field(default_factory=dict)
    to_finish: list[tuple[RecordTask, RegisterEntry | None]] = field(default_factory=list)

    def note_seconds(self, seconds: float) -> None:
        if self.record_s is None:
            self.record_s = seconds
        else:
            self.record_s += TIME_WEIGHT * (seconds - self.record_s)

    @property
    def pack(self) -> int:
        """Records per process task, from how long records have taken so far."""
        if self.record_s is None:
            return 1
        return max(1, min(MAX_PACK, int(PACK_TARGET_S / max(self.record_s, 1e-6))))

    @property
    def window(self) -> int:
        """Records in flight at most: each worker busy with one task and one more waiting."""
        return max(2, self.workers * max(self.per_worker, 2 * self.pack))

    def key(self, kind: str, uid: str) -> str:
        self.submitted += 1
        if self.submitted % TASK_NAMES_KEPT == 0:
            forget_task_names()  # or the driver grows with every task (sohoa.pipeline.cluster)
        return f"{kind}-{uid}-{self.submitted}"


@dataclass
class Saved:
    """What a transaction changes in the driver's memory, put back when it is rolled back (all
    bounded by the window; the queue's popped entries are in `RunState.taken`)."""

    hash_owner: dict[str, str]
    waiting: dict[str, list[RecordTask]]
    expected: dict[str, str]
    to_submit: list[RecordTask]
    handed: list[RecordTask]
    to_finish: list[tuple[RecordTask, RegisterEntry | None]]
    alone: set[str]
    stopped: str | None
    losses_recorded: int

    @classmethod
    def of(cls, run: RunState) -> Saved:
        run.taken = []
        if run.names is not None:
            run.names.begin()
        waiting = {key: list(tasks) for key, tasks in run.waiting.items()}
        return cls(dict(run.hash_owner), waiting, dict(run.expected), list(run.to_submit),
                   list(run.handed), list(run.to_finish), set(run.alone), run.report.stopped,
                   run.losses_recorded)  # fmt: skip

    def restore(self, run: RunState) -> None:
        run.hash_owner, run.waiting, run.expected = self.hash_owner, self.waiting, self.expected
        run.to_submit, run.handed, run.report.stopped = self.to_submit, self.handed, self.stopped
        run.to_finish = self.to_finish
        run.alone, run.losses_recorded = self.alone, self.losses_recorded
        run.queue.push_back(run.taken)
        run.taken = []
        if run.names is not None:
            run.names.roll_back()
