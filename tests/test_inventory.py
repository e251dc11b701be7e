"""The paper register: CSV import, linking records to it, coverage and projection against it."""

from __future__ import annotations

import datetime as dt
import json
import unicodedata
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from click.testing import CliRunner
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    invariant,
    rule,
    run_state_machine_as_test,
)
from sqlalchemy import and_, func, insert, select, text, update
from sqlalchemy.orm import Session, sessionmaker

from sohoa.cli import main
from sohoa.errors import SohoaError
from sohoa.ingest.discover import discover
from sohoa.ocr.codes import FoundCode, as_metadata
from sohoa.records import (
    ARCHIVED_STATES,
    Batch,
    InventoryItem,
    PageRow,
    Record,
    RecordOutcome,
    RecordState,
    database_session,
    make_engine,
    session_scope,
    store,
    summary,
    upgrade,
)
from sohoa.records.coverage import _from_cells, _from_summary, inventory_coverage, projection
from sohoa.records.db import MIGRATIONS, SCHEMA_HEAD, _alembic_config
from sohoa.records.inventory import LinkReport, import_inventory, link_records, read_mapping
from sohoa.records.models import Base
from sohoa.records.search.schema import compare_filter
from sohoa.sample import generate_sample
from tests.conftest import CATALOGUE, invoke

KNOWN = {
    "khai_sinh": "khai_sinh",
    "1.001193": "khai_sinh",
    "ket_hon": "ket_hon",
    "1.000894": "ket_hon",
    "khac": "khac",
}
HEADER = "code,title,unit,procedure,year,location,expected_pages\n"
NOW = dt.datetime(2026, 3, 10, 12, 0, tzinfo=dt.UTC)


def _csv(tmp_path: Path, text: str, *, encoding: str = "utf-8") -> Path:
    path = tmp_path / "muc-luc.csv"
    path.write_bytes(text.encode(encoding))
    return path


def _import(factory, path: Path):
    with session_scope(factory) as session:
        return import_inventory(session, path, KNOWN)


def _items(factory) -> dict[str, InventoryItem]:
    with session_scope(factory) as session:
        return {i.code: i for i in session.scalars(select(InventoryItem))}


def test_schema_head_is_the_newest_migration() -> None:
    """check_schema compares databases with SCHEMA_HEAD instead of reading the scripts."""
    assert ScriptDirectory.from_config(_alembic_config()).get_current_head() == SCHEMA_HEAD


def test_models_match_the_migrations(database_url: str) -> None:
    """Autogenerate after `upgrade` finds nothing: models.py and migrations agree."""
    engine = make_engine(database_url)
    assert upgrade(engine) == "0014" == SCHEMA_HEAD
    with engine.connect() as connection:
        # As migrations/env.py compares: the search engines' own tables are not models.
        context = MigrationContext.configure(connection, opts={"include_object": compare_filter})
        assert compare_metadata(context, Base.metadata) == []
    engine.dispose()


def test_utf8_with_bom_is_read_and_text_is_nfc(factory, tmp_path: Path) -> None:
    title = unicodedata.normalize("NFD", "Đăng ký khai sinh - Nguyễn Văn An")
    path = _csv(tmp_path, f"\ufeff{HEADER}HS-1,{title},UBND xã An Phú,1.001193,2019,Kho A,3\n")
    report = _import(factory, path)
    assert (report.added, report.problems, report.delimiter) == (1, [], ",")
    item = _items(factory)["HS-1"]
    assert item.title == unicodedata.normalize("NFC", title)
    assert (item.procedure, item.year, item.expected_pages) == ("khai_sinh", 2019, 3)


@pytest.mark.parametrize(("separator", "name"), [(";", "semicolon"), ("\t", "tab")])
def test_semicolon_and_tab_files_are_accepted_and_said(
    factory, tmp_path: Path, separator: str, name: str
) -> None:
    # Excel in a Vietnamese locale saves with ';' and keeps commas inside titles.
    rows = ["code", "title", "year"], ["HS-1", "Khai sinh, bản chính", "2020"]
    path = _csv(tmp_path, "".join(separator.join(r) + "\n" for r in rows))
    report = _import(factory, path)
    assert (report.added, report.delimiter_name, report.problems) == (1, name, [])
    assert _items(factory)["HS-1"].title == "Khai sinh, bản chính"


def test_a_header_with_one_column_or_no_code_imports_nothing(factory, tmp_path: Path) -> None:
    report = _import(factory, _csv(tmp_path, "code|title|year\nHS-1|A|2020\n"))
    [problem] = report.problems
    assert (problem.line, problem.column) == (1, "code")
    assert "one column; the file seems to use '|'" in problem.message
    report = _import(factory, _csv(tmp_path, "ma,title,year\nHS-1,A,2020\n"))
    assert [(p.line, p.column) for p in report.problems] == [(1, "code"), (1, "ma")]
    assert "no 'code' column" in report.problems[0].message
    assert report.added == 0 and _items(factory) == {}


def test_bad_rows_are_reported_and_good_rows_imported(factory, tmp_path: Path) -> None:
    path = _csv(
        tmp_path,
        HEADER
        + "HS-1,Tốt,UBND,khai_sinh,2019,,2\n"  # line 2
        + "hs-1,Trùng mã,UBND,,2019,,2\n"  # 3: same code, other case
        + "HS-2,Năm sai,UBND,,19x9,,2\n"  # 4
        + "HS-3,Năm xa,UBND,,1800,,0\n"  # 5: two problems
        + "HS-4,Thủ tục lạ,UBND,cap_ho_chieu,2020,,1\n"  # 6
        + ",Không mã,UBND,,2020,,1\n"  # 7
        + "\n"  # 8: blank lines are skipped
        + '"HS-5","Nhiều\ndòng",UBND,1.000894,,,\n'  # 9-10: quoted line break, blanks ok
        + "HS-6,Thừa cột,UBND,,2020,,1,x\n",  # 11
    )
    report = _import(factory, path)
    assert [(p.line, p.column) for p in report.problems] == [
        (3, "code"),
        (4, "year"),
        (5, "year"),
        (5, "expected_pages"),
        (6, "procedure"),
        (7, "code"),
        (11, ""),
    ]
    assert "already on line 2" in report.problems[0].message
    assert str(report.problems[1]) == "line 4, column year: '19x9' is not an integer 1900..2100"
    assert "'cap_ho_chieu'" in report.problems[4].message
    assert report.added == 2
    items = _items(factory)
    assert sorted(items) == ["HS-1", "HS-5"]
    assert (items["HS-5"].procedure, items["HS-5"].year, items["HS-5"].expected_pages) == (
        "ket_hon",
        None,
        None,
    )
    assert items["HS-5"].title == "Nhiều\ndòng"


def test_reimport_is_idempotent_and_counts_changes(factory, tmp_path: Path) -> None:
    text = HEADER + "HS-1,A,UBND,,2019,,2\nHS-2,B,UBND,,2019,,2\nHS-3,C,UBND,,2019,,2\n"
    first = _import(factory, _csv(tmp_path, text))
    again = _import(factory, _csv(tmp_path, text))
    assert (first.added, first.changed, first.unchanged) == (3, 0, 0)
    assert (again.added, again.changed, again.unchanged) == (0, 0, 3)
    edited = HEADER + "HS-1,A,UBND,,2019,,2\nHS-2,B sửa,UBND,,2019,,5\nHS-4,D,UBND,,2020,,1\n"
    report = _import(factory, _csv(tmp_path, edited))
    assert (report.added, report.changed, report.unchanged, report.not_in_file) == (1, 1, 1, 1)
    with session_scope(factory) as session:
        _cells_agree(session)  # HS-2's pages and the new HS-4 are in the cells
    items = _items(factory)
    assert (items["HS-2"].title, items["HS-2"].expected_pages) == ("B sửa", 5)
    assert "HS-3" in items  # kept: a register is never shrunk by a partial file


def test_a_file_that_is_not_utf8_is_refused(factory, tmp_path: Path) -> None:
    path = _csv(tmp_path, HEADER + "HS-1,Đăng,UBND,,2019,,2\n", encoding="cp1258")
    with pytest.raises(SohoaError, match="line 2 is not UTF-8"):
        _import(factory, path)


def _page(index: int) -> PageRow:
    return PageRow(index, "p.png", 0, 0, 0.0, 90.0, 100, 100, 200.0, (), "")


def _add_records(session: Session, batch: str, records: dict[str, str | None]) -> None:
    """Records by rel_path: state archived / needs_review / failed, or None for pending."""
    made = store.get_or_create_batch(session, batch, f"/scans/{batch}", {})
    store.register_records(session, made.id, [(f"{batch}:{p}", p) for p in records])
    for rel_path, state in records.items():
        uid = f"{batch}:{rel_path}"
        if state in ("archived", "needs_review"):
            outcome = RecordOutcome(
                uid, ok=True, needs_review=state == "needs_review", procedure="khai_sinh",
                pages=(_page(0), _page(1)), output_path="/a.pdf", output_sha256="0" * 64,
            )  # fmt: skip
            store.commit_outcome(session, outcome)
        elif state == "failed":
            outcome = RecordOutcome(uid, ok=False, error_reason="timeout", error_message="slow")
            store.commit_outcome(session, outcome)


def _archived_on(session: Session, rel_path: str, when: dt.datetime) -> None:
    session.execute(update(Record).where(Record.rel_path == rel_path).values(archived_at=when))
    summary.refresh_all(session)  # a write that bypasses `store` must refresh the summary


def test_linking_both_ways(factory, tmp_path: Path) -> None:
    code = unicodedata.normalize("NFC", "HS-Ế-1")
    text = HEADER + f"{code},Một,,,,,\nHS-2,Hai,,,,,\nHS-3,Ba (chưa quét),,,,,\n"
    _import(factory, _csv(tmp_path, text))
    with session_scope(factory) as session:
        folder = unicodedata.normalize("NFD", "hs-ế-1")  # macOS names, other case
        _add_records(session, "box-1", {folder: "archived", "HS-2.pdf": None, "HS-9": None})
    with session_scope(factory) as session:
        report = link_records(session)
    assert (report.newly_linked, report.linked) == (2, 2)
    assert [(r.batch, r.rel_path) for r in report.unregistered] == [("box-1", "HS-9")]
    assert [(i.code, i.title) for i in report.unscanned] == [("HS-3", "Ba (chưa quét)")]
    with session_scope(factory) as session:
        query = select(Record.rel_path, Record.inventory_item_id)
        links = {rel_path: item_id for rel_path, item_id in session.execute(query)}
        items = {i.code: i.id for i in session.scalars(select(InventoryItem))}
        assert links[folder] == items[code] and links["HS-2.pdf"] == items["HS-2"]
        again = link_records(session)
    assert (again.newly_linked, again.linked, len(again.unscanned)) == (0, 2, 1)


def test_after_a_run_only_its_batch_is_linked_and_nothing_listed(factory, tmp_path: Path) -> None:
    with session_scope(factory) as session:
        _add_records(session, "box-1", {"HS-1": "archived", "HS-9": None})
        _add_records(session, "box-2", {"HS-2": "archived"})
        batches = {b.name: b.id for b in session.scalars(select(Batch))}
        assert link_records(session, batch_id=batches["box-1"]) == LinkReport()  # no register
    _import(factory, _csv(tmp_path, HEADER + "HS-1,Một,,,,,\nHS-2,Hai,,,,,\nHS-3,Ba,,,,,\n"))
    with session_scope(factory) as session:
        report = link_records(session, batch_id=batches["box-1"])
        linked = dict(session.execute(select(Record.rel_path, Record.inventory_item_id)).all())
    assert (report.newly_linked, report.linked) == (1, 1)
    assert (report.unregistered, report.unscanned) == ([], [])
    assert linked["HS-1"] is not None and linked["HS-2"] is None  # box-2 waits for its own run


def test_the_sample_register_matches_the_sample_records(factory, tmp_path: Path) -> None:
    sample = tmp_path / "scans"
    generate_sample(sample, 4, seed=3, catalogue=CATALOGUE, dpi=50)
    with session_scope(factory) as session:
        known = {p["key"]: p["key"] for p in CATALOGUE}
        report = import_inventory(session, sample / "_inventory.csv", known)
        assert report.problems == [] and report.added >= 5
        _add_records(session, "box-1", {ref.rel_path: None for ref in discover(sample)})
        linked = link_records(session)
    assert (linked.linked, linked.unregistered) == (4, [])
    assert len(linked.unscanned) == report.added - 4


@pytest.fixture
def register(factory, tmp_path: Path):
    """Six items over two procedures, two units, two years; four scanned in two batches."""
    text = HEADER + (
        "A1,,Xã A,khai_sinh,2019,,2\n"
        "A2,,Xã A,khai_sinh,2019,,4\n"
        "A3,,Xã A,ket_hon,2020,,3\n"
        "B1,,Xã B,khai_sinh,2020,,2\n"
        "B2,,Xã B,ket_hon,2020,,5\n"
        "B3,,Xã B,,,,\n"
    )
    _import(factory, _csv(tmp_path, text))
    with session_scope(factory) as session:
        _add_records(session, "box-1", {"A1": "archived", "A2": "needs_review", "A3": "failed"})
        _add_records(session, "box-2", {"B1.tif": "archived", "A1-copy": "archived"})
        for rel_path, day in (("A1", 1), ("A2", 3), ("B1.tif", 9)):
            _archived_on(session, rel_path, dt.datetime(2026, 3, day, 10, tzinfo=dt.UTC))
        link_records(session)
    return factory


def _rows(factory, by: tuple[str, ...], since: dt.date | None = None):
    with session_scope(factory) as session:
        return {row.group: row for row in inventory_coverage(session, by, since)}


def test_coverage_overall_and_by_procedure_unit_year_batch(register) -> None:
    [total] = _rows(register, ()).values()
    assert (total.items, total.digitized, round(total.percent, 1)) == (6, 3, 50.0)
    assert (total.pages_expected, total.pages_digitized) == (16, 6)
    assert (total.remaining_items, total.remaining_pages) == (3, 8)
    by_procedure = _rows(register, ("procedure",))
    assert {g: (r.items, r.digitized) for g, r in by_procedure.items()} == {
        ("khai_sinh",): (3, 3),
        ("ket_hon",): (2, 0),
        ("",): (1, 0),
    }
    assert by_procedure[("ket_hon",)].percent == 0.0 and by_procedure[("",)].labels == (
        "(chưa phân loại)",
    )
    by_unit_year = _rows(register, ("unit", "year"))
    assert {g: round(r.percent, 1) for g, r in by_unit_year.items()} == {
        ("Xã A", 2019): 100.0,
        ("Xã A", 2020): 0.0,
        ("Xã B", 2020): 50.0,
        ("Xã B", None): 0.0,
    }
    assert list(by_unit_year)[-1] == ("Xã B", None)  # blanks sort last on both backends
    by_batch = _rows(register, ("batch",))
    assert {g: (r.items, r.digitized) for g, r in by_batch.items()} == {
        ("box-1",): (3, 2),
        ("box-2",): (1, 1),
        (None,): (2, 0),
    }


def test_coverage_since_counts_recent_copies_only(register) -> None:
    [total] = _rows(register, (), since=dt.date(2026, 3, 3)).values()
    assert (total.digitized, total.pages_digitized) == (2, 4)  # A2 (day 3) and B1 (day 9)
    assert total.remaining_items == 3  # what is left does not depend on `since`
    with pytest.raises(SohoaError, match="choose from procedure, unit, year, batch"):
        _rows(register, ("colour",))


def test_projection_from_the_last_seven_days(register) -> None:
    with session_scope(register) as session:
        ahead = projection(session, now=NOW)  # window 3 Mar 12:00 .. 10 Mar 12:00
        assert (ahead.items, ahead.digitized, ahead.digitized_in_window) == (6, 3, 1)
        assert ahead.per_day == pytest.approx(1 / 7)
        assert ahead.projected_completion == dt.date(2026, 3, 31)  # 3 left, 7 days each
        idle = projection(session, now=NOW + dt.timedelta(days=30))
        assert idle.projected_completion is None and idle.per_day == 0
        session.execute(update(Record).values(state="archived", archived_at=NOW))
        session.execute(
            update(Record).where(Record.rel_path == "A1-copy").values(state="duplicate")
        )
        summary.refresh_all(session)  # writes that bypass `store`
        link_records(session)
        assert projection(session, now=NOW).remaining == 2  # B2 and B3 were never scanned


# --- the per-item summary (migration 0003) ---------------------------------------------------


def _day_time(value: dt.datetime | str | None) -> dt.datetime | None:
    """A timestamp as an aware datetime, whether it came through a column type or not."""
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    return value.replace(tzinfo=dt.UTC) if value is not None and value.tzinfo is None else value


def _summaries(session: Session) -> dict[int, tuple]:
    query = select(
        InventoryItem.id,
        InventoryItem.first_digitized_at,
        InventoryItem.last_digitized_at,
        InventoryItem.digitized_pages,
    )
    return {i: (_day_time(a), _day_time(b), p) for i, a, b, p in session.execute(query)}


def _summaries_by_join(session: Session) -> dict[int, tuple]:
    """What the summary must say, computed the slow way: every item joined to its records."""
    signed = and_(Record.inventory_item_id == InventoryItem.id, Record.state.in_(ARCHIVED_STATES))
    query = (
        select(
            InventoryItem.id,
            func.min(Record.archived_at),
            func.max(Record.archived_at),
            func.coalesce(func.sum(Record.page_count), 0),
        )
        .outerjoin(Record, signed)
        .group_by(InventoryItem.id)
    )
    return {i: (_day_time(a), _day_time(b), int(p)) for i, a, b, p in session.execute(query)}


def _cells_agree(session: Session) -> None:
    """The coverage cells hold what grouping the items themselves gives."""
    by = ("procedure", "unit", "year")

    def plain(rows: Any) -> set[tuple]:
        return {tuple(v if v is None or isinstance(v, str) else int(v) for v in r) for r in rows}

    assert plain(session.execute(_from_cells(by))) == plain(
        session.execute(_from_summary(by, None))
    )


def _clear(session: Session) -> None:
    session.execute(update(Record).values(duplicate_of_id=None))
    for table in ("search_identifiers", "search_docs", "events", "pages", "records", "batches",
                  "inventory_items"):  # fmt: skip
        session.execute(Base.metadata.tables[table].delete())


def test_the_summary_follows_every_change_of_state_and_link(factory) -> None:
    """Random sequences of what happens to records (archived, sent to review, accepted,
    corrected, failed, handed out again, made duplicates, linked by name, QR or mapping,
    relinked) leave every item's summary equal to what a join over the records says, and
    coverage equal to a count over the records."""
    codes = ["HS-1", "HS-2", "HS-3", "HS-4"]

    class Machine(RuleBasedStateMachine):
        """Each step in its own transaction, as the driver and the commands do."""

        scanned = Bundle("scanned")

        def __init__(self) -> None:
            super().__init__()
            with session_scope(factory) as session:
                _clear(session)
                session.execute(insert(InventoryItem), [{"code": c} for c in codes])
                summary.rebuild_cells(session)  # items written without `import_inventory`
                self.batch_id = store.get_or_create_batch(session, "box", "/scans/box", {}).id
                self.items = dict(
                    session.execute(select(InventoryItem.code, InventoryItem.id)).all()
                )
            self.count = 0

        @rule(target=scanned, name=st.sampled_from([*codes, "HS-9", "ho-so-khac"]))
        def scan(self, name: str) -> str:
            self.count += 1
            uid = f"r{self.count}"
            rel_path = f"{self.count:03d}/{name}" + (".pdf" if self.count % 3 == 0 else "")
            with session_scope(factory) as session:
                store.register_records(session, self.batch_id, [(uid, rel_path)])
                link_records(session)  # linked before it is archived: every hook is exercised
            return uid

        @rule(
            uid=scanned,
            review=st.booleans(),
            pages=st.integers(1, 4),
            qr=st.sampled_from([None, "HS-2", "HS-4", "HS-7"]),
            text=st.sampled_from([None, "HS-3"]),
        )
        def archive(self, uid: str, review: bool, pages: int, qr: str | None, text: str | None):
            found = [FoundCode(c, s) for c, s in ((qr, "qr"), (text, "text")) if c]
            outcome = RecordOutcome(
                uid, ok=True, needs_review=review, procedure="khai_sinh",
                pages=tuple(_page(i) for i in range(pages)), output_path="/a.pdf",
                output_sha256="0" * 64, metadata=as_metadata(found),
            )  # fmt: skip
            with session_scope(factory) as session:  # also what a review correction does
                store.commit_outcome(session, outcome)

        @rule(uid=scanned)
        def fail(self, uid: str) -> None:
            outcome = RecordOutcome(uid, ok=False, error_reason="timeout", error_message="slow")
            with session_scope(factory) as session:
                store.commit_outcome(session, outcome)

        @rule(uid=scanned, state=st.sampled_from([RecordState.PROCESSING, RecordState.PENDING]))
        def hand_out(self, uid: str, state: RecordState) -> None:
            with session_scope(factory) as session:
                store.set_state(session, [uid], state, why="test")

        @rule(uid=scanned)
        def accept(self, uid: str) -> None:
            with session_scope(factory) as session:
                if store.get_record(session, uid).state == RecordState.NEEDS_REVIEW:
                    store.accept_review(session, uid, "tester")

        @rule(uid=scanned, original=scanned)
        def duplicate(self, uid: str, original: str) -> None:
            with session_scope(factory) as session:
                if uid != original:
                    twin, first = (
                        store.get_record(session, uid),
                        store.get_record(session, original),
                    )
                    store.mark_duplicate(session, twin, first)

        @rule()
        def link(self) -> None:
            with session_scope(factory) as session:
                link_records(session)

        @rule(uid=scanned, code=st.sampled_from(codes))
        def map(self, uid: str, code: str) -> None:
            with session_scope(factory) as session:
                link_records(session, {store.get_record(session, uid).id: self.items[code]})

        @invariant()
        def summary_is_the_join(self) -> None:
            with session_scope(factory) as session:
                expected = _summaries_by_join(session)
                assert _summaries(session) == expected
                _cells_agree(session)
                [total] = inventory_coverage(session)
            digitized = [item for item, (first, _last, _pages) in expected.items() if first]
            assert (total.items, total.digitized) == (len(codes), len(digitized))
            assert total.pages_digitized == sum(pages for _a, _b, pages in expected.values())

    run_state_machine_as_test(
        Machine,
        settings=settings(
            max_examples=15, stateful_step_count=12, deadline=None, database=None,
            suppress_health_check=[HealthCheck.too_slow],
        ),
    )  # fmt: skip


def test_each_change_of_a_linked_record_refreshes_its_item(factory, tmp_path: Path) -> None:
    """Every state transition and link change, in turn, on records linked to items."""
    _import(factory, _csv(tmp_path, HEADER + "A1,,,,,,\nA2,,,,,,\n"))
    with session_scope(factory) as session:
        _add_records(session, "box", {"A1": None, "A2": None, "A2.pdf": None})
        link_records(session)
        items = dict(session.execute(select(InventoryItem.code, InventoryItem.id)).all())
        ids = dict(session.execute(select(Record.uid, Record.id)).all())

    def archived(uid: str, review: bool = False, pages: int = 2) -> RecordOutcome:
        return RecordOutcome(uid, ok=True, needs_review=review, procedure="khai_sinh",
                             pages=tuple(_page(i) for i in range(pages)),
                             output_path="/a.pdf", output_sha256="0" * 64)  # fmt: skip

    steps = [
        lambda s: store.commit_outcome(s, archived("box:A1", review=True)),
        lambda s: store.accept_review(s, "box:A1", "tester"),
        lambda s: store.commit_outcome(s, archived("box:A1", pages=3)),  # a correction
        lambda s: store.set_state(s, ["box:A1"], RecordState.PROCESSING, why="again"),
        lambda s: store.commit_outcome(s, archived("box:A1")),
        lambda s: store.commit_outcome(s, RecordOutcome("box:A1", ok=False, error_reason="x")),
        lambda s: store.commit_outcome(s, archived("box:A2")),
        lambda s: store.commit_outcome(s, archived("box:A2.pdf", pages=4)),
        lambda s: store.mark_duplicate(
            s, store.get_record(s, "box:A2.pdf"), store.get_record(s, "box:A2")
        ),
        lambda s: store.commit_outcome(s, archived("box:A2.pdf", pages=4)),
        lambda s: link_records(s, {ids["box:A2.pdf"]: items["A1"]}),  # moved to another item
    ]
    seen = set()
    for step in steps:
        with session_scope(factory) as session:
            step(session)
        with session_scope(factory) as session:
            now = _summaries(session)
            assert now == _summaries_by_join(session)
            _cells_agree(session)
            seen.add(tuple(sorted(now.items())))
    assert len(seen) >= 8  # the steps did change the summaries


def test_coverage_since_counts_the_pages_of_recent_copies_only(factory, tmp_path: Path) -> None:
    """An item scanned twice, once before and once after the day asked: the summary cannot
    say which pages are recent, the records can."""
    _import(factory, _csv(tmp_path, HEADER + "A1,,Xã A,khai_sinh,2019,,6\n"))
    with session_scope(factory) as session:
        _add_records(session, "box-1", {"A1": "archived"})
        _add_records(session, "box-2", {"A1": "archived"})
        link_records(session)
        old, new = (dt.datetime(2026, 3, day, tzinfo=dt.UTC) for day in (1, 9))
        session.execute(update(Record).where(Record.uid == "box-1:A1").values(archived_at=old))
        session.execute(
            update(Record).where(Record.uid == "box-2:A1").values(archived_at=new, page_count=3)
        )
        summary.refresh_all(session)
    for since, digitized, pages in ((None, 1, 5), ("2026-03-05", 1, 3), ("2026-03-10", 0, 0)):
        day = dt.date.fromisoformat(since) if since else None
        [row] = _rows(factory, ("procedure",), day).values()
        assert (row.digitized, row.pages_digitized, row.remaining_items) == (digitized, pages, 0)


def test_migration_0003_fills_the_summary_of_an_existing_database(database_url: str) -> None:
    """A database at 0002 with linked records gets its summary and link sources on upgrade,
    and the migration goes down and up again."""
    engine = make_engine(database_url)
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "0002")
    now = dt.datetime(2026, 3, 9, 10, tzinfo=dt.UTC)
    rows = [("a", "archived", 2, now), ("b", "needs_review", 3, now + dt.timedelta(days=1)),
            ("c", "failed", None, None)]  # fmt: skip
    with engine.begin() as connection:
        connection.execute(
            text("INSERT INTO batches (id, name, source, config, created_at) "
                 "VALUES (1, 'box', '/s', '{}', :t)"), {"t": now},
        )  # fmt: skip
        connection.execute(
            text("INSERT INTO inventory_items (id, code, title, unit, procedure, location) "
                 "VALUES (1, 'A', '', '', '', ''), (2, 'B', '', '', '', '')")
        )  # fmt: skip
        for n, (uid, state, pages, when) in enumerate(rows, 1):
            connection.execute(
                text("INSERT INTO records (id, uid, batch_id, rel_path, state, attempts, "
                     "source_files, metadata, created_at, updated_at, page_count, archived_at,"
                     " inventory_item_id) VALUES (:id, :uid, 1, :rel_path, :state, 1, '[]', '{}', "
                     ":t, :t, :pages, :when, 1)").bindparams(uid=uid, rel_path=uid),
                {"id": n, "state": state, "t": now, "pages": pages, "when": when},
            )  # fmt: skip
    upgrade(engine)
    factory = sessionmaker(engine)
    with session_scope(factory) as session:
        assert _summaries(session) == {
            1: (now, now + dt.timedelta(days=1), 5),
            2: (None, None, 0),
        }
        assert set(session.scalars(select(Record.inventory_link_source))) == {"folder"}
        _cells_agree(session)
        [total] = inventory_coverage(session)
        assert (total.items, total.digitized, total.pages_digitized) == (2, 1, 5)
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, "0002")
        command.upgrade(config, "head")
    engine.dispose()


# --- linking by mapping CSV, folder name, QR code and printed code --------------------------


def _links(session: Session) -> dict[str, tuple[str | None, str | None]]:
    """uid -> (linked code, link source)."""
    query = select(Record.uid, InventoryItem.code, Record.inventory_link_source).outerjoin(
        InventoryItem, InventoryItem.id == Record.inventory_item_id
    )
    return {uid: (code, source) for uid, code, source in session.execute(query)}


def _archive_with_codes(session: Session, uid: str, *found: FoundCode) -> None:
    outcome = RecordOutcome(uid, ok=True, procedure="khai_sinh", pages=(_page(0),),
                            output_path="/a.pdf", output_sha256="0" * 64,
                            metadata={"title": "t", **as_metadata(list(found))})  # fmt: skip
    store.commit_outcome(session, outcome)


def test_folder_name_wins_over_qr_over_text_and_conflicts_are_listed(
    factory, tmp_path: Path
) -> None:
    _import(factory, _csv(tmp_path, HEADER + "HS-1,,,,,,\nHS-2,,,,,,\nHS-3,,,,,,\n"))
    with session_scope(factory) as session:
        _add_records(session, "box", {"HS-1": None, "scan-2": None, "scan-3": None,
                                      "scan-4": None, "scan-5": None})  # fmt: skip
        _archive_with_codes(session, "box:HS-1", FoundCode("HS-2", "qr"))  # conflict
        _archive_with_codes(session, "box:scan-2", FoundCode("hs-2", "qr"))
        _archive_with_codes(session, "box:scan-3", FoundCode("HS-3", "text"))
        _archive_with_codes(
            session, "box:scan-4", FoundCode("HS-9", "qr"), FoundCode("HS-3", "text")
        )  # the QR code is not registered: the text links, and the two disagree
        _archive_with_codes(session, "box:scan-5", FoundCode("HS-8", "qr"))
        report = link_records(session)
        assert _links(session) == {
            "box:HS-1": ("HS-1", "folder"),
            "box:scan-2": ("HS-2", "qr"),
            "box:scan-3": ("HS-3", "text"),
            "box:scan-4": ("HS-3", "text"),
            "box:scan-5": (None, None),
        }
    assert [(c.rel_path, c.linked_code, c.claims) for c in report.conflicts] == [
        ("HS-1", "HS-1", (("folder", "HS-1"), ("qr", "HS-2"))),
        ("scan-4", "HS-3", (("qr", "HS-9"), ("text", "HS-3"))),
    ]
    assert [(r.rel_path, r.found_code) for r in report.unregistered] == [("scan-5", "HS-8")]
    assert (report.linked, report.newly_linked, report.unscanned) == (4, 4, [])


def test_a_mapping_csv_links_explicitly_and_reports_bad_lines(factory, tmp_path: Path) -> None:
    _import(factory, _csv(tmp_path, HEADER + "HS-1,,,,,,\nHS-2,,,,,,\nHS-3,,,,,,\n"))
    with session_scope(factory) as session:
        _add_records(session, "box-1", {"HS-1": "archived", "a/x.pdf": "archived", "y": None})
        _add_records(session, "box-2", {"y": None})
        link_records(session)
    mapping = tmp_path / "mapping.csv"
    mapping.write_text(
        "record_id;source;batch;code\n"
        "box-1:HS-1;;;HS-2\n"  # 2: by record id; overrides the folder name
        ";a/x.pdf;;hs-3\n"  # 3: by path, code in another case
        ";y;;HS-1\n"  # 4: y is in two batches
        ";y;box-2;HS-1\n"  # 5
        "nope;;;HS-1\n"  # 6: no such record
        ";a/x.pdf;;HS-9\n"  # 7: code not in the register
        ";a/x.pdf;;HS-1\n"  # 8: already mapped to HS-3 on line 3
        ";;;HS-1\n",  # 9: which record?
        encoding="utf-8",
    )
    with session_scope(factory) as session:
        problems: list = []
        mapped = read_mapping(session, mapping, problems)
        report = link_records(session, mapped)
        assert [(p.line, p.column) for p in problems] == [
            (4, "batch"), (6, "record_id"), (7, "code"), (8, ""), (9, "source")
        ]  # fmt: skip
        assert "in batches box-1, box-2: add a batch column" in problems[0].message
        assert "on line 3" in problems[3].message
        assert report.mapped == 3
        links = _links(session)
        assert links["box-1:HS-1"] == ("HS-2", "mapping")
        assert links["box-1:a/x.pdf"] == ("HS-3", "mapping")
        assert links["box-2:y"] == ("HS-1", "mapping")
        assert [c.rel_path for c in report.conflicts] == ["HS-1"]  # folder HS-1, mapping HS-2
        # Automatic linking later keeps what the archivist said.
        link_records(session)
        assert _links(session) == links
        [total] = inventory_coverage(session)
        assert (total.items, total.digitized) == (3, 2)  # HS-2 and HS-3; HS-1 lost its copy


def test_a_mapping_without_a_record_column_is_refused(factory, tmp_path: Path) -> None:
    mapping = tmp_path / "mapping.csv"
    mapping.write_text("code,title\nHS-1,x\n", encoding="utf-8")
    with session_scope(factory) as session:
        problems: list = []
        assert read_mapping(session, mapping, problems) == {}
    assert [(p.line, p.column) for p in problems] == [(1, "title"), (1, "record_id")]


def test_sohoa_link_mapping_prints_bad_lines_and_conflicts(initialised, workdir: Path) -> None:
    register = workdir / "register.csv"
    register.write_text(HEADER + "HS-1,,,,,,\nHS-2,,,,,,\n", encoding="utf-8")
    assert invoke("inventory", "import", str(register)).exit_code == 0
    with database_session(initialised.database_url) as session:
        _add_records(session, "box", {"HS-1": "archived"})
    mapping = workdir / "mapping.csv"
    mapping.write_text("source,code\nHS-1,HS-2\nHS-1,HS-2\nnope,HS-1\n", encoding="utf-8")
    result = CliRunner().invoke(main, ["link", "--mapping", str(mapping), "--format", "json"])
    assert result.exit_code == 2
    assert f"{mapping}: line 4, column source: no record 'nope' in any batch" in result.stderr
    payload = json.loads(result.stdout)
    assert payload["linked"] == 1
    [conflict] = payload["conflicts"]
    assert (conflict["linked_to"], conflict["claims"]) == ("HS-2", "mapping HS-2; folder HS-1")
    assert payload["registered_not_scanned"] == [{"code": "HS-1", "title": ""}]
