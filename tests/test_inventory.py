"""The paper register: CSV import, linking records to it, coverage and projection against it."""

from __future__ import annotations

import datetime as dt
import unicodedata
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from sohoa.errors import SohoaError
from sohoa.ingest.discover import discover
from sohoa.records import (
    InventoryItem,
    PageRow,
    Record,
    RecordOutcome,
    make_engine,
    session_scope,
    store,
    upgrade,
)
from sohoa.records.coverage import inventory_coverage, projection
from sohoa.records.inventory import import_inventory, link_records
from sohoa.records.models import Base
from sohoa.sample import generate_sample
from tests.conftest import CATALOGUE

KNOWN = {
    "khai_sinh": "khai_sinh",
    "1.001193": "khai_sinh",
    "ket_hon": "ket_hon",
    "1.000894": "ket_hon",
    "khac": "khac",
}
HEADER = "code,title,unit,procedure,year,location,expected_pages\n"
NOW = dt.datetime(2026, 3, 10, 12, 0, tzinfo=dt.UTC)


@pytest.fixture
def factory(database_url: str):
    engine = make_engine(database_url)
    upgrade(engine)
    yield sessionmaker(engine, expire_on_commit=False)
    engine.dispose()


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


def test_models_match_the_migrations(database_url: str) -> None:
    """Autogenerate after `upgrade` finds nothing: models.py and migrations agree."""
    engine = make_engine(database_url)
    assert upgrade(engine) == "0004"
    with engine.connect() as connection:
        assert compare_metadata(MigrationContext.configure(connection), Base.metadata) == []
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
        link_records(session)
        assert projection(session, now=NOW).remaining == 2  # B2 and B3 were never scanned
