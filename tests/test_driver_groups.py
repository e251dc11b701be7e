"""The driver's cheap paths at scale: packs of records per Dask task, results committed in
groups, the records still to do read a page at a time; each record keeps its own result."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import func, select

from sohoa.pipeline import commits, run_state
from sohoa.pipeline.run_state import MAX_PACK, RunReport, RunState, Saved, TodoQueue
from sohoa.pipeline.worker import RecordTask
from sohoa.records import Digest, Event, Record, RecordOutcome, RecordState, session_scope, store
from sohoa.records.grouping import grouped, look_up_originals


@dataclass
class _Future:
    status: str


def _tasks(count: int) -> list[RecordTask]:
    return [RecordTask(f"u{n}", "b", "/scans", f"HS-{n}", False) for n in range(count)]


def _run(factory=None) -> RunState:
    queue = TodoQueue(batch_id=1, max_attempts=3, retry_all=False)
    return RunState(1, "b", Path("/scans"), "me", None, factory, None, RunReport("b"), queue)


def test_a_lost_pack_is_redone_one_record_per_task_and_a_lost_single_fails_alone() -> None:
    run = _run()
    pack = _tasks(3)
    lost = (KeyError, KeyError("killed"), None)
    assert commits._results(run, _Future("error"), "process", pack, lost) == []
    assert run.to_submit == pack and run.alone == {"u0", "u1", "u2"}
    assert commits._results(run, _Future("error"), "digest", pack, lost) == []
    assert run.handed == pack
    [outcome] = commits._results(run, _Future("error"), "process", pack[:1], lost)
    assert (outcome.uid, outcome.ok, outcome.error_reason) == ("u0", False, "worker_died")


def test_packs_grow_only_for_records_that_take_milliseconds() -> None:
    run = _run()
    assert run.pack == 1  # nothing measured yet
    ocr = RecordOutcome("u0", ok=True)
    commits._results(run, _Future("finished"), "process", _tasks(1), [(ocr, 3.0)])
    assert run.pack == 1 and run.window == 2 * 8  # seconds of OCR: one record per task
    failed = RecordOutcome("u1", ok=False, error_reason="corrupt_image")
    commits._results(run, _Future("finished"), "process", _tasks(1), [(failed, 0.0001)])
    assert run.pack == 1  # a quick failure says nothing of how long a record takes
    for _ in range(50):
        commits._results(run, _Future("finished"), "process", _tasks(1), [(ocr, 0.001)])
    assert run.pack == MAX_PACK and run.window == 2 * 2 * MAX_PACK


def _register(factory, count: int) -> int:
    with session_scope(factory) as session:
        batch_id = store.get_or_create_batch(session, "b", "/scans", {}).id
        found = [(f"u{n}", f"HS-{n:02d}") for n in range(count)]
        store.register_records(session, batch_id, found)
    return batch_id


def test_the_records_to_do_are_read_a_page_at_a_time_each_once_in_path_order(
    factory, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(run_state, "TODO_PAGE", 3)
    batch_id = _register(factory, 7)
    queue = TodoQueue(batch_id, max_attempts=3, retry_all=False)
    popped = []
    with session_scope(factory) as session:
        while (entry := queue.pop(session)) is not None:
            popped.append(entry[2])
            store.set_state(session, [entry[1]], RecordState.PROCESSING, why="test")
            assert len(queue.page) < 3
        assert store.count_to_do(session, batch_id, max_attempts=3, retry_all=False) == 7
    assert popped == [f"HS-{n:02d}" for n in range(7)]
    queue.push_back([(0, "u5", "HS-05"), (0, "u6", "HS-06")])  # a rolled-back hand-out
    with session_scope(factory) as session:
        assert [queue.pop(session)[2] for _ in range(2)] == ["HS-05", "HS-06"]
        assert queue.pop(session) is None


def test_a_rolled_back_commit_puts_back_what_it_took(factory, tmp_path: Path) -> None:
    batch_id = _register(factory, 4)
    for n in range(4):
        (tmp_path / f"HS-{n:02d}").write_bytes(b"scan")
    run = _run(factory)
    run.root, run.queue.batch_id = tmp_path, batch_id
    saved = Saved.of(run)
    with pytest.raises(RuntimeError), session_scope(factory) as session:
        tasks = commits._hand_out(session, run, 3, [])
        raise RuntimeError("the commit failed")
    assert [task.rel_path for task in tasks] == ["HS-00", "HS-01", "HS-02"]
    saved.restore(run)
    with session_scope(factory) as session:
        assert set(session.scalars(select(Record.state))) == {"pending"}
        assert [run.queue.pop(session)[2] for _ in range(4)] == [f"HS-{n:02d}" for n in range(4)]
        assert run.queue.pop(session) is None


def test_a_group_sees_an_original_archived_earlier_in_the_same_group(factory) -> None:
    _register(factory, 3)
    with session_scope(factory) as session:
        store.commit_digest(session, Digest("u0", "h0", ()))
        events = session.scalar(select(func.count()).select_from(Event))
    # u0's result and u1's digest in one commit
    with session_scope(factory) as session, grouped(session, ["u0", "u1", "u2"]):
        look_up_originals(session, ["h0", "h2"])
        store.commit_outcome(session, RecordOutcome("u0", ok=True, procedure="x"))
        original = store.commit_digest(session, Digest("u1", "h0", ()))
        assert original is not None and original.uid == "u0"
        assert store.commit_digest(session, Digest("u2", "h2", ())) is None
        assert session.scalar(select(func.count()).select_from(Event)) == events  # deferred
    with session_scope(factory) as session:
        states = dict(session.execute(select(Record.uid, Record.state)).all())
        kinds = session.scalars(select(Event.kind).where(Event.record_id.is_not(None))).all()
    assert states == {"u0": "archived", "u1": "duplicate", "u2": "pending"}
    assert sorted(kinds) == ["digest", "digest", "digest", "duplicate"]


def test_nothing_a_failed_group_deferred_is_written(factory) -> None:
    _register(factory, 1)
    with session_scope(factory) as session:
        events = session.scalar(select(func.count()).select_from(Event))
    with pytest.raises(RuntimeError), session_scope(factory) as session, grouped(session, ["u0"]):
        store.commit_outcome(session, RecordOutcome("u0", ok=False, error_reason="x"))
        raise RuntimeError("the database went away")
    with session_scope(factory) as session:
        assert session.scalar(select(func.count()).select_from(Event)) == events
        assert session.scalar(select(Record.state)) == "pending"


def test_dasks_cache_of_task_keys_is_emptied_as_keys_are_made(monkeypatch) -> None:
    """A local scheduler runs key_split on every task's key in the driver's process, and its
    cache would keep 100,000 of them: the driver empties it every TASK_NAMES_KEPT keys."""
    from dask.utils import key_split

    monkeypatch.setattr(run_state, "TASK_NAMES_KEPT", 4)
    run = _run()
    key_split.cache_clear()
    for n in range(13):
        assert key_split(run.key("process", f"u{n}")) == "process"  # as the scheduler asks
    # emptied as the 4th, 8th and 12th keys were made: the 12th and 13th are left
    assert key_split.cache_info().currsize == 2
