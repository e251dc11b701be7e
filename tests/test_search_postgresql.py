"""What search uses of PostgreSQL itself (migration 0010): the `unaccent` text search
configuration folds exactly like sohoa.records.search.text.fold, and the `pg_trgm` lookup of
misread words returns the same words as the equality lookup SQLite uses."""

from __future__ import annotations

import unicodedata

import pytest
from alembic import command
from sqlalchemy import Engine, insert, text
from sqlalchemy.orm import Session

from sohoa.records import make_engine
from sohoa.records.db import _alembic_config
from sohoa.records.models import SearchTerm
from sohoa.records.search import fold, tokens
from sohoa.records.search.fuzzy import _by_trigrams, _one_edit, alternatives, similarity
from sohoa.records.search.schema import TRGM_INDEX, TS_CONFIG, TSV_INDEX
from tests.test_search import insert_archived_at_0005

# Every Vietnamese vowel with every tone, both cases, and đ/Đ.
_BASES = "aăâeêioôơuưyđ"
_TONES = ("", "\u0301", "\u0300", "\u0309", "\u0303", "\u0323")
LETTERS = sorted(
    {unicodedata.normalize("NFC", c + t) for b in _BASES for c in (b, b.upper()) for t in _TONES}
)
# The backend-parametrised fixture, on PostgreSQL alone (skipped without SOHOA_TEST_POSTGRES_URL).
pytestmark = pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
WORDS = ("an", "anh", "binh", "minh", "tran", "hoang", "thanh", "nguyen", "phuong", "nghia")


def test_the_unaccent_configuration_folds_like_python(migrated_engine: Engine) -> None:
    text_ = " ".join(LETTERS) + " Đăng ký kết hôn ĐỖ Thị Ưng 15qđ Nguyễn Hoàng 2019"
    exact = " ".join(tokens(text_))
    with migrated_engine.connect() as connection:
        lexemes = connection.execute(
            text("SELECT lexeme FROM unnest(to_tsvector(CAST(:c AS regconfig), :t))"),
            {"c": TS_CONFIG, "t": exact},
        ).scalars()
        assert set(lexemes) == set(fold(exact).split())
        assert "d" in set(fold(exact).split())  # đ and Đ among them


def test_python_trigram_similarity_is_pg_trgm_similarity(migrated_engine: Engine) -> None:
    pairs = [(w, n) for w in WORDS for n in sorted(_one_edit(w))[::17]]
    with migrated_engine.connect() as connection:
        for left, right in pairs:
            expected = connection.execute(text("SELECT similarity(:a, :b)"),
                                          {"a": left, "b": right}).scalar_one()  # fmt: skip
            assert similarity(left, right) == pytest.approx(expected, abs=1e-6)


def test_the_trigram_lookup_finds_what_the_equality_lookup_finds(migrated_engine: Engine) -> None:
    # A vocabulary holding some neighbours of each word (the nearest and the farthest by
    # trigrams) and words two edits away, which neither lookup may return.
    vocabulary = set(WORDS)
    for word in WORDS:
        ranked = sorted(_one_edit(word), key=lambda n: (similarity(word, n), n))
        vocabulary |= {*ranked[:3], *ranked[-3:], *ranked[:: len(ranked) // 5]}
        vocabulary |= {word[::-1] + "x", word + "xy"}
    with Session(migrated_engine) as session:
        session.execute(insert(SearchTerm), [{"term": t} for t in sorted(vocabulary)])
        for word in WORDS:
            by_equality = sorted(vocabulary & _one_edit(word))
            found = _by_trigrams(session, word, _one_edit(word))
            assert (found is None) == (len(word) <= 3)  # too short: equality, as on SQLite
            if found is not None:
                assert sorted(found) == by_equality, word
            assert list(alternatives(session, [word]).of(word)[1:]) == by_equality[:40]


def test_migration_0010_moves_a_0009_database_to_unaccent_and_back(database_url: str) -> None:
    engine = make_engine(database_url)
    config = _alembic_config()

    def structures(connection) -> tuple[set[str], str]:
        indexes = set(connection.execute(text("SELECT indexname FROM pg_indexes")).scalars())
        generated = connection.execute(text(
            "SELECT pg_get_expr(d.adbin, d.adrelid) FROM pg_attrdef d JOIN pg_attribute a "
            "ON a.attrelid = d.adrelid AND a.attnum = d.adnum WHERE a.attname = 'folded_tsv'"
        )).scalar_one()  # fmt: skip
        return indexes, generated

    with engine.begin() as connection:
        record = insert_archived_at_0005(connection, "Đơn đăng ký thường trú")
        config.attributes["connection"] = connection
        command.upgrade(config, "head")  # 0006 indexes the record
        command.downgrade(config, "0009")  # as 0006 left databases before this revision
        indexes, generated = structures(connection)
        assert TRGM_INDEX not in indexes and TS_CONFIG not in generated
        command.upgrade(config, "head")
        indexes, generated = structures(connection)
        assert {TSV_INDEX, TRGM_INDEX} <= indexes and TS_CONFIG in generated
        matched = connection.execute(text(
            "SELECT record_id FROM search_docs WHERE folded_tsv @@ "
            "to_tsquery(CAST(:c AS regconfig), 'don <-> dang <-> ky')"), {"c": TS_CONFIG}
        ).scalars().all()  # fmt: skip
        assert matched == [record]
    engine.dispose()


def test_every_short_word_has_a_lookup(migrated_engine: Engine) -> None:
    # Two- and three-letter words may have neighbours sharing no trigram: equality then.
    with Session(migrated_engine) as session:
        for word in ("an", "le", "do", "anh"):
            assert _by_trigrams(session, word, _one_edit(word)) is None
        session.execute(insert(SearchTerm), [{"term": "lc"}, {"term": "ahn"}])
        assert alternatives(session, ["le", "anh"]).by_word == {"le": ("lc",), "anh": ("ahn",)}
