"""What search keeps in SQLite itself (migration 0013): word pairs as FTS5 tokens, computed
by the connection's sohoa_pairs function, in step with search_docs through the triggers, and
out of reach of anything a user types."""

from __future__ import annotations

import pytest
from alembic import command
from sqlalchemy import Connection, Engine, text
from sqlalchemy.orm import sessionmaker

from sohoa.records import make_engine, session_scope
from sohoa.records.db import _alembic_config, word_pairs
from sohoa.records.search import parse_query
from sohoa.records.search.engine import NO_ALTERNATIVES, fts5_expression
from sohoa.records.search.schema import FTS_SOURCE, FTS_TABLE
from tests.test_search import archive, find, insert_archived_at_0005, uids

# The backend-parametrised fixture, on SQLite alone.
ON_SQLITE = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


def _matches(connection: Connection, expression: str) -> list[int]:
    found = connection.execute(
        text(f"SELECT rowid FROM {FTS_TABLE} WHERE {FTS_TABLE} MATCH :e ORDER BY rowid"),
        {"e": expression},
    )
    return list(found.scalars())


def _check(connection: Connection) -> None:
    """FTS5 compares its index with what FTS_SOURCE gives (raises when they differ)."""
    connection.exec_driver_sql(f"INSERT INTO {FTS_TABLE}({FTS_TABLE}) VALUES ('integrity-check')")


def test_word_pairs_stand_where_the_words_do() -> None:
    assert word_pairs("nguyen van binh") == "nguyen_van van_binh"
    assert word_pairs("binh") == "" and word_pairs("") == "" and word_pairs(None) == ""


def test_phrases_go_by_pairs_and_words_by_words() -> None:
    def expression(query: str) -> str:
        return fts5_expression(parse_query(query, 500).terms, NO_ALTERNATIVES)

    assert expression('"Văn Bình" binh') == (
        '(exact_pairs : "văn_bình" OR folded_pairs : "van_binh") AND (folded : "binh")'
    )
    assert expression("nguyen-van-bi*") == '(folded_pairs : "nguyen_van van_bi" *)'
    assert "pairs" not in expression("nguyễn* văn")


@ON_SQLITE
def test_the_pairs_follow_every_write_and_no_word_reaches_them(migrated_engine: Engine) -> None:
    factory = sessionmaker(migrated_engine, expire_on_commit=False)
    with session_scope(factory) as session:
        uid = archive(session, "r", ["Bên nam: Nguyễn Văn Bình"])
    renamed = "UPDATE search_docs SET exact = 'trần thị mai', folded = 'tran thi mai'"
    with migrated_engine.begin() as connection:
        _check(connection)
        assert _matches(connection, 'folded_pairs : "nguyen_van van_binh"') != []
        # A pair is a token of the pair columns only: no word column holds one.
        assert _matches(connection, 'folded : "nguyen_van"') == []
        assert _matches(connection, 'exact : "nguyễn_văn"') == []
        connection.execute(text(renamed))
        _check(connection)
        assert _matches(connection, 'folded_pairs : "van_binh"') == []
    assert uids(find(factory, '"Trần Thị Mai"')) == [uid]
    with migrated_engine.begin() as connection:
        connection.execute(text("DELETE FROM search_docs"))
        _check(connection)
        assert _matches(connection, 'exact_pairs : "trần_thị"') == []


@ON_SQLITE
def test_migration_0013_adds_the_pairs_to_a_0012_database_and_back(database_url: str) -> None:
    engine = make_engine(database_url)
    config = _alembic_config()

    def has_pairs(connection: Connection) -> bool:
        query = text("SELECT count(*) FROM sqlite_master WHERE name = :n")
        return connection.execute(query, {"n": FTS_SOURCE}).scalar_one() == 1

    with engine.begin() as connection:
        record = insert_archived_at_0005(connection, "Đơn đăng ký thường trú")
        config.attributes["connection"] = connection
        command.upgrade(config, "head")  # 0006 builds the newest structures
        command.downgrade(config, "0012")  # as 0006 to 0012 left databases
        assert not has_pairs(connection)
        assert _matches(connection, 'folded : "dang ky thuong"') == [record]
        command.upgrade(config, "head")
        assert has_pairs(connection)
        _check(connection)
        assert _matches(connection, 'folded_pairs : "dang_ky ky_thuong"') == [record]
    engine.dispose()
