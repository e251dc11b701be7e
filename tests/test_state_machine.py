"""Property test of the record state machine: any sequence of hand-outs, successes,
failures, crashes, interruptions and resumes keeps the invariants an operator relies on."""

from __future__ import annotations

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule
from sqlalchemy import select
from sqlalchemy.orm import sessionmaker

from sohoa.records import (
    ARCHIVED_STATES,
    Record,
    RecordOutcome,
    RecordState,
    make_engine,
    queries,
    session_scope,
    store,
    upgrade,
)

UIDS = ("r0", "r1", "r2", "r3")
MAX_ATTEMPTS = 2


class RecordLifecycle(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.engine = make_engine("sqlite://")
        upgrade(self.engine)
        self.factory = sessionmaker(self.engine, expire_on_commit=False)
        with session_scope(self.factory) as session:
            self.batch_id = store.get_or_create_batch(session, "b", "/scans", {}).id
            store.register_records(session, self.batch_id, [(u, f"HS-{u}") for u in UIDS])
        self.finishes = dict.fromkeys(UIDS, 0)

    def teardown(self) -> None:
        self.engine.dispose()

    def _states(self) -> dict[str, str]:
        with session_scope(self.factory) as session:
            return dict(session.execute(select(Record.uid, Record.state)).all())

    def _todo(self, retry_all: bool = False) -> list[str]:
        with session_scope(self.factory) as session:
            rows = store.records_to_do(
                session, self.batch_id, max_attempts=MAX_ATTEMPTS, retry_all=retry_all
            )
        return [uid for _id, uid, _path in rows]

    @rule(uid=st.sampled_from(UIDS))
    def hand_out(self, uid: str) -> None:
        if uid in self._todo():
            with session_scope(self.factory) as session:
                store.set_state(session, [uid], RecordState.PROCESSING, why="test")

    @rule(uid=st.sampled_from(UIDS), ok=st.booleans())
    def finish(self, uid: str, ok: bool) -> None:
        if self._states()[uid] != RecordState.PROCESSING:
            return
        outcome = (
            RecordOutcome(uid, ok=True, procedure="khai_sinh", output_path=f"/a/{uid}.pdf",
                          output_sha256="0" * 64)
            if ok
            else RecordOutcome(uid, ok=False, error_reason="corrupt_image", error_message="x")
        )  # fmt: skip
        with session_scope(self.factory) as session:
            store.commit_outcome(session, outcome)
        self.finishes[uid] += 1

    @rule()
    def interrupt(self) -> None:
        """Ctrl-C: what was handed out goes back to pending."""
        in_flight = [u for u, s in self._states().items() if s == RecordState.PROCESSING]
        if in_flight:
            with session_scope(self.factory) as session:
                store.set_state(session, in_flight, RecordState.PENDING, why="test")

    @rule()
    def crash(self) -> None:
        """SIGKILL: nothing is written; processing records stay so until a resume."""

    @invariant()
    def counts_add_up(self) -> None:
        with session_scope(self.factory) as session:
            counts = queries.state_counts(session, self.batch_id)
        assert sum(counts.values()) == len(UIDS)

    @invariant()
    def archived_records_have_one_output_each_and_are_never_redone(self) -> None:
        with session_scope(self.factory) as session:
            rows = session.execute(select(Record.uid, Record.state, Record.output_path)).all()
        archived = [(uid, path) for uid, state, path in rows if state in ARCHIVED_STATES]
        assert all(path == f"/a/{uid}.pdf" for uid, path in archived)
        todo = set(self._todo(retry_all=True))
        assert todo.isdisjoint(uid for uid, _path in archived)

    @invariant()
    def attempts_count_every_finish_and_failures_are_retried_up_to_the_limit(self) -> None:
        with session_scope(self.factory) as session:
            rows = session.execute(select(Record.uid, Record.state, Record.attempts)).all()
        todo = set(self._todo())
        for uid, state, attempts in rows:
            assert attempts == self.finishes[uid]
            if state in (RecordState.PENDING, RecordState.PROCESSING):
                assert uid in todo  # unfinished work is always picked up by a resume
            if state == RecordState.FAILED:
                assert (uid in todo) == (attempts < MAX_ATTEMPTS)


TestRecordLifecycle = RecordLifecycle.TestCase
TestRecordLifecycle.settings = settings(max_examples=60, stateful_step_count=25, deadline=None)
