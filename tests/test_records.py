"""The records database on SQLite and PostgreSQL: migrations, transitions, locks, queries."""

from __future__ import annotations

import pytest
from sqlalchemy import inspect, select

from sohoa.errors import SohoaError
from sohoa.records import (
    Digest,
    Event,
    PageRow,
    Record,
    RecordOutcome,
    RecordState,
    check_schema,
    make_engine,
    queries,
    session_scope,
    store,
    upgrade,
)


def never_dead(_owner: str) -> bool:
    return False


def _page(index: int) -> PageRow:
    return PageRow(
        index, "HS/p.png", 0, 90, 1.25, 91.5, 100, 200, 200.0, ("rotated",), f"page {index}"
    )


def _archived(uid: str, procedure: str = "khai_sinh") -> RecordOutcome:
    return RecordOutcome(
        uid,
        ok=True,
        procedure=procedure,
        procedure_code="1.001193",
        procedure_confidence=0.97,
        classification_method="rules",
        pages=(_page(0), _page(1)),
        output_path=f"/a/{uid}.pdf",
        output_sha256="f" * 64,
    )


def test_upgrade_is_idempotent_and_check_schema_accepts_it(database_url: str) -> None:
    engine = make_engine(database_url)
    first = upgrade(engine)
    assert upgrade(engine) == first
    check_schema(engine)
    assert {"batches", "records", "pages", "events", "inventory_items"} <= set(
        inspect(engine).get_table_names()
    )
    engine.dispose()


def test_uninitialised_database_says_run_init(database_url: str) -> None:
    engine = make_engine(database_url)
    with pytest.raises(SohoaError, match="sohoa init"):
        check_schema(engine)
    engine.dispose()


def test_a_record_goes_pending_processing_archived_with_its_pages(factory) -> None:
    with session_scope(factory) as session:
        batch = store.get_or_create_batch(session, "box-1", "/scans", {})
        assert store.register_records(session, batch.id, [("u1", "HS-1"), ("u2", "HS-2")]) == 2
        assert store.register_records(session, batch.id, [("u1", "HS-1")]) == 0
        store.set_state(session, ["u1"], RecordState.PROCESSING, why="test")
        store.commit_digest(session, Digest("u1", "c" * 64, ({"path": "HS-1/p.png"},)))
        store.commit_outcome(session, _archived("u1"))
        store.commit_outcome(
            session,
            RecordOutcome(
                "u2",
                ok=False,
                error_reason="corrupt_image",
                error_message="HS-2/p.png cannot be decoded",
            ),
        )
    with session_scope(factory) as session:
        record = session.scalar(select(Record).where(Record.uid == "u1"))
        assert record.state == RecordState.ARCHIVED and record.attempts == 1
        assert [p.text for p in record.pages] == ["page 0", "page 1"]
        assert record.mean_ocr_confidence == pytest.approx(91.5)
        counts = queries.state_counts(session, batch.id)
        assert counts["archived"] == 1 and counts["failed"] == 1
        [failure] = queries.failures(session, batch.id)
        assert (failure.reason, failure.rel_path, failure.attempts) == ("corrupt_image", "HS-2", 1)
        kinds = [e.kind for e in session.scalars(select(Event).order_by(Event.id))]
        assert kinds == ["batch", "state", "digest", "fail"]
        todo = store.records_to_do(session, batch.id, max_attempts=1, retry_all=False)
        assert todo == []
        todo = store.records_to_do(session, batch.id, max_attempts=1, retry_all=True)
        assert [uid for _id, uid, _path in todo] == ["u2"]


def test_same_content_in_another_batch_is_a_duplicate(factory) -> None:
    with session_scope(factory) as session:
        first = store.get_or_create_batch(session, "box-1", "/scans/1", {})
        second = store.get_or_create_batch(session, "box-2", "/scans/2", {})
        store.register_records(session, first.id, [("a", "HS-1")])
        store.register_records(session, second.id, [("b", "HS-1-copy")])
        assert store.commit_digest(session, Digest("a", "d" * 64, ())) is None
        store.commit_outcome(session, _archived("a"))
        original = store.commit_digest(session, Digest("b", "d" * 64, ()))
        assert original is not None and original.uid == "a"
    with session_scope(factory) as session:
        copy = store.get_record(session, "b")
        assert copy.state == RecordState.DUPLICATE and copy.duplicate_of_id == original.id
        [row] = queries.coverage(session)
        assert (row.registered, row.digitized, row.pages) == (1, 1, 2)


def test_a_batch_cannot_be_claimed_twice(factory) -> None:
    with session_scope(factory) as session:
        batch = store.get_or_create_batch(session, "box-1", "/scans", {})
        store.acquire_lock(session, batch.id, "host:1", never_dead)
    with session_scope(factory) as session, pytest.raises(SohoaError, match="running already"):
        store.acquire_lock(session, batch.id, "host:2", never_dead)
    with session_scope(factory) as session:
        store.release_lock(session, batch.id, "host:1", finished=True)
        store.acquire_lock(session, batch.id, "host:2", never_dead)


def test_a_dead_drivers_claim_is_taken_over_and_logged(factory) -> None:
    with session_scope(factory) as session:
        batch = store.get_or_create_batch(session, "box-1", "/scans", {})
        store.acquire_lock(session, batch.id, "host:1", never_dead)
    with session_scope(factory) as session:
        store.acquire_lock(session, batch.id, "host:2", lambda owner: owner == "host:1")
    with session_scope(factory) as session:
        [event] = session.scalars(select(Event).where(Event.kind == "takeover"))
        assert event.detail == {"previous_owner": "host:1"}


def test_batch_name_is_bound_to_its_folder(factory) -> None:
    with session_scope(factory) as session:
        store.get_or_create_batch(session, "box-1", "/scans/a", {})
    with session_scope(factory) as session, pytest.raises(SohoaError, match="another --batch"):
        store.get_or_create_batch(session, "box-1", "/scans/b", {})


def test_coverage_by_procedure_and_export_fields(factory) -> None:
    with session_scope(factory) as session:
        batch = store.get_or_create_batch(session, "box-1", "/scans", {})
        store.register_records(session, batch.id, [("a", "HS-1"), ("b", "HS-2"), ("c", "HS-3")])
        store.commit_outcome(session, _archived("a", "khai_sinh"))
        store.commit_outcome(session, _archived("b", "ket_hon"))
    with session_scope(factory) as session:
        rows = {row.group: row for row in queries.coverage(session, ("procedure",))}
        assert rows[("khai_sinh",)].percent == 100.0
        assert rows[(queries.UNCLASSIFIED,)].digitized == 0
        exported = list(queries.export_rows(session))
    assert [row["source"] for row in exported] == ["HS-1", "HS-2", "HS-3"]
    first = exported[0]
    for key in (
        "record_id",
        "batch",
        "source",
        "state",
        "error",
        "procedure",
        "procedure_code",
        "procedure_confidence",
        "pages",
        "text",
        "output",
        "output_sha256",
    ):
        assert key in first
    assert first["text"] == "page 0\fpage 1"
    assert first["pages"][0] | {} == {
        "index": 0,
        "rotation": 90,
        "skew_deg": 1.25,
        "ocr_confidence": 91.5,
        "flags": ["rotated"],
        "dpi": 200.0,
    }
