"""sohoa search on both backends, with records committed through the store (no OCR)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from alembic import command
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, insert, literal_column, select, update
from sqlalchemy.orm import Session, sessionmaker

from sohoa.errors import SohoaError
from sohoa.records import (
    Batch,
    InventoryItem,
    Page,
    PageRow,
    Record,
    RecordOutcome,
    make_engine,
    session_scope,
    store,
)
from sohoa.records.db import _alembic_config
from sohoa.records.inventory import import_inventory, link_records
from sohoa.records.models import SearchAccess, SearchDoc
from sohoa.records.search import SearchRequest, SearchSettings, find_in, fold, parse_query, rebuild
from sohoa.records.search import engine as search_engine
from tests.conftest import invoke

CONFIG = SearchSettings()
KET_HON = "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM\nTỜ KHAI ĐĂNG KÝ KẾT HÔN\nBên nam: {name}\n"


def _page(index: int, text: str) -> PageRow:
    return PageRow(index, f"p{index}.png", 0, 0, 0.0, 90.0, 100, 100, 300.0, (), text)


def archive(
    session: Session,
    rel_path: str,
    pages: list[str],
    *,
    batch: str = "box-1",
    procedure: str = "ket_hon",
    register: dict | None = None,
    doc_numbers: tuple[str, ...] = (),
    needs_review: bool = False,
) -> str:
    """Commit one archived record the way the driver does; returns its uid."""
    made = store.get_or_create_batch(session, batch, f"/scans/{batch}", {})
    uid = f"{batch}:{rel_path}"
    store.register_records(session, made.id, [(uid, rel_path)])
    meta = {"register": register, "doc_numbers": list(doc_numbers)}
    outcome = RecordOutcome(
        uid, ok=True, procedure=procedure, needs_review=needs_review,
        pages=tuple(_page(i, text) for i, text in enumerate(pages)),
        output_path=f"/archive/{procedure}/{uid}.pdf", output_sha256="0" * 64, metadata=meta,
    )  # fmt: skip
    store.commit_outcome(session, outcome)
    return uid


def find(factory: sessionmaker[Session], text: str, **filters) -> list:
    with session_scope(factory) as session:
        return find_in(session, SearchRequest(text, **filters), CONFIG).hits


def uids(hits: list) -> list[str]:
    return [hit.record_id for hit in hits]


def test_folding_drops_every_vietnamese_mark_including_d_stroke() -> None:
    assert fold("ĐĂNG KÝ KẾT HÔN Đỗ Thị Ưng Ỷ") == "dang ky ket hon do thi ung y"


def test_typed_without_diacritics_it_finds_the_dossier(factory) -> None:
    with session_scope(factory) as session:
        hon = archive(session, "a", [KET_HON.format(name="Đỗ Văn Đức")])
        archive(session, "b", ["TỜ KHAI ĐĂNG KÝ KHAI SINH\nNgười được khai sinh: Lê Thị Hoa"])
    assert uids(find(factory, "dang ky ket hon")) == [hon]
    assert uids(find(factory, "do van duc")) == [hon]  # đ and Đ fold to d


def test_exact_diacritics_rank_above_folded_matches(factory) -> None:
    with session_scope(factory) as session:
        # OCR lost the marks of the first; the second was read right.
        lost = archive(session, "lost", [KET_HON.format(name="Nguyen Van Binh")])
        right = archive(session, "right", [KET_HON.format(name="Nguyễn Văn Bình")])
    assert uids(find(factory, "Nguyễn Văn Bình")) == [right, lost]
    assert set(uids(find(factory, "nguyen van binh"))) == {right, lost}


def test_a_name_misread_by_ocr_is_found_after_the_exact_ones(factory) -> None:
    with session_scope(factory) as session:
        misread = archive(session, "misread", [KET_HON.format(name="Ngnyễn Văn Blnh")])
        exact = archive(session, "exact", [KET_HON.format(name="Nguyễn Văn Bình")])
        archive(session, "other", [KET_HON.format(name="Trần Thị Mai")])
    hits = find(factory, "Nguyễn Văn Bình")
    assert [(h.record_id, h.match) for h in hits] == [(exact, "text"), (misread, "fuzzy")]
    assert "«Ngnyễn» «Văn» «Blnh»" in hits[1].snippet
    with session_scope(factory) as session:
        strict = SearchSettings(fuzzy=False)
        assert uids(find_in(session, SearchRequest("Nguyễn Văn Bình"), strict).hits) == [exact]


def test_a_word_in_more_dossiers_than_the_cap_ranks_the_newest(factory, monkeypatch) -> None:
    """Both engines score only the newest RANK_CAP matches; PostgreSQL looks for them among
    the newest FIRST_WINDOW documents first, then through its indexes (none there here)."""
    monkeypatch.setattr(search_engine, "RANK_CAP", 2)
    monkeypatch.setattr(search_engine, "FIRST_WINDOW", 2)
    with session_scope(factory) as session:
        binh = [archive(session, f"b{i}", [KET_HON.format(name="Nguyễn Văn Bình")])
                for i in range(4)]  # fmt: skip
        mai = [archive(session, f"m{i}", [KET_HON.format(name="Trần Thị Mai")]) for i in range(2)]
    assert set(uids(find(factory, "Bình"))) == set(binh[2:])
    assert set(uids(find(factory, '"nguyen van binh"'))) == set(binh[2:])
    assert set(uids(find(factory, "Bình", procedure="ket_hon"))) == set(binh[2:])
    assert set(uids(find(factory, '"Thị Mai"'))) == set(mai)  # found in the window
    assert uids(find(factory, "Bình", procedure="khai_sinh")) == []


def test_a_few_matches_among_the_newest_say_how_far_back_to_look(factory, monkeypatch) -> None:
    """1 match among the newest 4 of 20 documents, RANK_CAP 2: PostgreSQL looks back 16 (twice
    what that density needs) and finds its 2 newest there, without reading every match."""
    monkeypatch.setattr(search_engine, "RANK_CAP", 2)
    monkeypatch.setattr(search_engine, "FIRST_WINDOW", 4)
    with session_scope(factory) as session:
        made = [archive(session, f"d{i}", [KET_HON.format(name="Nguyễn Văn Bình" if i in (2, 9, 17)
                                                          else "Trần Thị Mai")])
                for i in range(20)]  # fmt: skip
        ids = dict(session.execute(select(Record.uid, Record.id)).tuples().all())
    newest = [made[17], made[9]]
    assert set(uids(find(factory, "Bình"))) == set(newest)
    if factory.kw["bind"].dialect.name != "postgresql":
        return
    words = func.to_tsquery(literal_column("'sohoa_vi'::regconfig"), "binh")
    with session_scope(factory) as session:
        found = search_engine._newest(session, [search_engine._FOLDED_TSV.op("@@")(words)])
    assert found == [ids[uid] for uid in newest]


def test_phrases_prefixes_and_punctuated_numbers(factory) -> None:
    with session_scope(factory) as session:
        together = archive(session, "t", ["Số: 15/QĐ-UBND ngày 03/04/2019 về việc kết hôn"])
        apart = archive(session, "s", ["Hôn nhân đã kết thúc; số 15 QĐ khác UBND"])
    assert uids(find(factory, '"kết hôn"')) == [together]
    assert set(uids(find(factory, "kết hôn"))) == {together, apart}
    assert uids(find(factory, "15/QĐ-UBND")) == [together]
    assert uids(find(factory, "03/04/2019")) == [together]
    assert set(uids(find(factory, "hô*"))) == {together, apart}  # prefix: hôn
    assert uids(find(factory, "thuc*")) == [apart]


def test_a_phrase_needs_its_words_side_by_side_in_that_order(factory) -> None:
    """Both engines find phrases by their word pairs (SQLite's pair tokens, PostgreSQL's
    pairs_tsv): words of the phrase that are only near each other, or in another order, or
    a pair run together, are no match."""
    with session_scope(factory) as session:
        name = archive(session, "name", ["Bên nam: Nguyễn Văn Bình, sinh 1990"])
        apart = archive(session, "apart", ["Nguyễn Thị Lan; Văn phòng; Bình Dương"])
        turned = archive(session, "turned", ["Bình Văn Nguyễn"])
    assert uids(find(factory, '"nguyen van binh"')) == [name]
    assert uids(find(factory, '"Nguyễn Văn Bình"')) == [name]
    assert uids(find(factory, "nguyen-van-bi*")) == [name]  # a word with punctuation
    assert uids(find(factory, '"binh van"')) == [turned]
    assert uids(find(factory, "nguyen_van")) == [name]  # "_" is punctuation: a phrase
    assert find(factory, "nguyenvan") == [] and find(factory, '"thi van"') == []
    assert set(uids(find(factory, "nguyen van binh"))) == {name, apart, turned}


def test_fields_and_filters(factory) -> None:
    with session_scope(factory) as session:
        first = archive(
            session, "HS-2019-0001",
            ["Số CCCD: 079203001234 ; CMND 025123456", "ngày 03 tháng 4 năm 2019; 31/02/2019"],
            register={"code": "HS-2019-0001", "title": "Đăng ký kết hôn - Lê Văn Tám",
                      "unit": "UBND phường Bến Nghé", "year": 2019},
            doc_numbers=("15/QĐ-UBND",),
        )  # fmt: skip
        second = archive(
            session, "HS-2020-0002", ["Số CCCD: 079203009999"], batch="box-2",
            procedure="khai_sinh", register={"code": "HS-2020-0002", "title": "Khai sinh",
                                             "unit": "UBND phường Đa Kao", "year": 2020},
        )  # fmt: skip
    assert uids(find(factory, "code:hs-2019-0001")) == [first]
    assert uids(find(factory, "cccd:079203001234")) == [first]
    assert uids(find(factory, "cmnd:025123456")) == [first]
    assert uids(find(factory, "cccd:07920300")) == []  # exact, not a prefix
    assert uids(find(factory, "so:15/qd-ubnd")) == [first]
    assert uids(find(factory, "year:2020")) == [second]
    assert uids(find(factory, "date:2019-04-03")) == [first]
    assert uids(find(factory, "date:3/4/2019")) == [first]
    assert uids(find(factory, "ngay:5/4/2019")) == []
    assert uids(find(factory, "cccd", year=2019)) == [first]
    assert uids(find(factory, "cccd", procedure="khai_sinh")) == [second]
    assert uids(find(factory, "cccd", batch="box-2")) == [second]
    assert uids(find(factory, "cccd", unit="UBND phường Bến Nghé")) == [first]
    assert uids(find(factory, "le van tam")) == [first]  # the register title is indexed
    hit = find(factory, "code:HS-2019-0001")[0]
    assert (hit.code, hit.year, hit.procedure, hit.match) == (
        "HS-2019-0001",
        2019,
        "ket_hon",
        "field",
    )
    assert hit.path == "/archive/ket_hon/box-1:HS-2019-0001.pdf"
    with pytest.raises(SohoaError, match="no batch named"):
        find(factory, "cccd", batch="box-9")


def test_the_hit_names_its_page_and_marks_the_words(factory) -> None:
    with session_scope(factory) as session:
        archive(session, "r", ["Trang bìa hồ sơ", "Trang hai\nBên nữ: Phạm Thị Hằng, sinh 1990"])
    [hit] = find(factory, "pham thi hang")
    assert hit.page == 2
    assert "«Phạm» «Thị» «Hằng»" in hit.snippet


def test_the_hit_shows_the_page_with_the_name_whole_not_its_words_apart(factory) -> None:
    scattered = "Ông Phạm Văn Long, bà Lê Thị Hoa, cháu Trần Hằng"
    whole = "x " * 200 + "Người yêu cầu: Phạm Thị Hằng, CCCD kèm theo. " + "y " * 200
    with session_scope(factory) as session:
        archive(session, "r", [scattered, "Trang ba", whole])
    [hit] = find(factory, "pham thi hang")
    assert hit.page == 3
    # The snippet starts a little before the name, far into the page, and ends cut.
    assert hit.snippet.startswith("…") and hit.snippet.endswith("…")
    assert "«Phạm» «Thị» «Hằng»" in hit.snippet
    [word] = find(factory, '"tran hang"')
    assert word.page == 1 and "«Trần Hằng»" in word.snippet  # a phrase is one mark


def test_the_index_follows_damage_review_and_the_register(factory, tmp_path: Path) -> None:
    with session_scope(factory) as session:
        uid = archive(session, "HS-1", [KET_HON.format(name="Võ Văn Kiệt")], needs_review=True)
    assert [h.state for h in find(factory, "vo van kiet")] == ["needs_review"]
    with session_scope(factory) as session:
        store.accept_review(session, uid, "tester")
    assert [h.state for h in find(factory, "vo van kiet")] == ["archived"]
    with session_scope(factory) as session:
        record_id = session.scalar(select(Record.id).where(Record.uid == uid))
        store.mark_damaged(session, record_id, ["sha256 differs"])
    assert [h.state for h in find(factory, "vo van kiet", state="failed")] == ["failed"]
    # Re-archived (resume, or `review set`): the new text replaces the old.
    with session_scope(factory) as session:
        archive(session, "HS-1", [KET_HON.format(name="Võ Thị Sáu")])
    assert find(factory, "vo van kiet") == []
    assert [h.state for h in find(factory, "vo thi sau")] == ["archived"]
    # The register names the dossier: linking (and a changed title) reindexes it.
    with session_scope(factory) as session:
        session.execute(insert(InventoryItem), [{"code": "HS-1", "title": "Hồ sơ kết hôn cũ",
                                                 "year": 2001}])  # fmt: skip
        link_records(session)
    assert [h.year for h in find(factory, "ho so ket hon cu")] == [2001]
    register = tmp_path / "muc-luc.csv"
    register.write_text("code,title,year\nHS-1,Hồ sơ kết hôn đã sửa,2002\n", encoding="utf-8")
    with session_scope(factory) as session:
        import_inventory(session, register, {})
    assert find(factory, "ho so ket hon cu") == []
    assert [h.year for h in find(factory, "ket hon da sua")] == [2002]


def test_reindex_rebuilds_what_was_written_around_the_index(factory) -> None:
    with session_scope(factory) as session:
        uid = archive(session, "r", ["Họ tên: Huỳnh Tấn Phát"])
        session.execute(update(Page).values(text="Họ tên: Tôn Đức Thắng"))  # bypasses store
    assert uids(find(factory, "huynh tan phat")) == [uid]
    with session_scope(factory) as session:
        assert rebuild(session) == 1
    assert find(factory, "huynh tan phat") == []
    assert uids(find(factory, "ton duc thang")) == [uid]


def test_every_search_is_in_the_access_log(factory) -> None:
    with session_scope(factory) as session:
        archive(session, "r", [KET_HON.format(name="Lý Tự Trọng")])
    find(factory, "ly tu trong", year=2019)
    find(factory, "ly tu trong")
    with session_scope(factory) as session:
        rows = session.scalars(select(SearchAccess).order_by(SearchAccess.id)).all()
        postgres = session.get_bind().dialect.name == "postgresql"
    assert [(r.query, r.filters, r.hits) for r in rows] == [
        ("ly tu trong", {"year": 2019}, 0), ("ly tu trong", {}, 1),
    ]  # fmt: skip
    assert all(r.os_user for r in rows)
    assert all((r.database_role == "sohoa_test") == postgres for r in rows)


def insert_archived_at_0005(connection, page_text: str) -> int:
    """A record archived before migration 0006 (rows written as 0005's schema has them)."""
    config = _alembic_config()
    config.attributes["connection"] = connection
    command.upgrade(config, "0005")
    batch = connection.execute(insert(Batch).values(name="b", source="/s", config={})
                               .returning(Batch.id)).scalar_one()  # fmt: skip
    record = connection.execute(
        insert(Record).values(uid="u1", batch_id=batch, rel_path="r", state="archived",
                              attempts=1, source_files=[], metadata={})
        .returning(Record.id)
    ).scalar_one()  # fmt: skip
    page = {"source_file": "p", "index_in_file": 0, "rotation": 0, "skew_deg": 0.0,
            "width": 1, "height": 1, "dpi": 300.0, "flags": []}  # fmt: skip
    connection.execute(insert(Page).values(record_id=record, index=0, text=page_text, **page))
    return record


def test_the_migration_indexes_records_archived_before_it(database_url: str) -> None:
    engine = make_engine(database_url)
    with engine.begin() as connection:
        insert_archived_at_0005(connection, "Đăng ký thường trú")
        config = _alembic_config()
        config.attributes["connection"] = connection
        command.upgrade(config, "head")
    with Session(engine) as session:
        assert session.scalars(select(SearchDoc.exact)).all() == ["đăng ký thường trú"]
    engine.dispose()


@pytest.mark.parametrize("text", ["", "   ", '""', "* - : ( ) \\", "::", "(*)", '""-'])
def test_a_query_with_no_word_is_a_usage_error(text: str) -> None:
    with pytest.raises(SohoaError, match="no word to search for"):
        parse_query(text, 500)


def test_a_query_over_the_limit_is_refused() -> None:
    with pytest.raises(SohoaError, match="501 characters; the limit is 500"):
        parse_query("a" * 501, 500)


def test_engine_syntax_in_the_query_is_only_text(factory) -> None:
    with session_scope(factory) as session:
        uid = archive(session, "r", ['Ghi chú: "NEAR" (x) - y* OR z AND w NOT q \\ a:b'])
    for text in ['"NEAR', "NEAR(x y)", "x OR", "-y", "a:b", "q \\", "AND NOT", "(x", "z AND w"]:
        assert uids(find(factory, text)) == [uid], text


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(text=st.text(max_size=80))
def test_arbitrary_text_never_reaches_an_engine_as_syntax(factory, text: str) -> None:
    with session_scope(factory) as session:
        if not session.scalar(select(SearchDoc.record_id).limit(1)):
            archive(session, "r", [KET_HON.format(name="Nguyễn Văn A")])
    try:
        find(factory, text)
    except SohoaError as exc:  # the two refusals a text of at most 80 characters can meet
        assert "no word to search for" in str(exc) or "NUL character" in str(exc)


def test_cli_search_json_reindex_and_log(initialised, database_url: str) -> None:
    engine = make_engine(database_url)
    with session_scope(sessionmaker(engine)) as session:
        uid = archive(session, "r", [KET_HON.format(name="Trần Hưng Đạo")])
    engine.dispose()
    result = invoke("search", "tran hung dao", "--format", "json")
    assert result.exit_code == 0, result.output
    [hit] = json.loads(result.output)
    assert (hit["record_id"], hit["page"], hit["procedure"]) == (uid, 1, "ket_hon")
    assert set(hit) >= {"code", "title", "year", "score", "snippet", "path"}
    assert invoke("search", "--reindex").output == "indexed 1 record(s)\n"
    log = invoke("search", "--log", "--format", "csv")
    assert log.exit_code == 0 and "tran hung dao" in log.output


@pytest.mark.parametrize(("args", "message"), [
    ((), "give a QUERY"), (("  ",), "give a QUERY"), (("x" * 501,), "the limit is 500"),
    (("x", "--limit", "0"), "--limit must be"),
])  # fmt: skip
def test_cli_bad_input_is_one_line_and_exit_1(initialised, args, message) -> None:
    result = invoke("search", *args)
    assert result.exit_code == 1
    assert message in result.output and "Traceback" not in result.output


def test_the_cli_lists_every_record_state() -> None:
    """`sohoa search --state` spells the states out (no SQLAlchemy at start-up)."""
    from sohoa.cli.search import STATES
    from sohoa.records import RecordState

    assert tuple(s.value for s in RecordState) == STATES
