"""The engine structures over `search_docs` that SQLAlchemy does not model: an FTS5 table
(words and word pairs) kept by triggers on SQLite; on PostgreSQL the `unaccent` and
`pg_trgm` extensions, a text search configuration that folds with `unaccent`, generated
tsvector columns (words; word pairs for phrases) with GIN indexes, and a trigram GIN index
over the vocabulary (search_terms) for misread words. Created by migration 0006, the
PostgreSQL ones as of migrations 0010 and 0012, the SQLite ones as of 0013; `compare_filter`
keeps them out of the models/migrations check."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection

from sohoa.errors import SohoaError

FTS_TABLE = "search_fts"  # SQLite; its shadow tables are search_fts_data, _idx, ...
TSV_COLUMNS = ("exact_tsv", "folded_tsv", "pairs_tsv")  # PostgreSQL
TSV_INDEX = "ix_search_docs_folded_tsv"
PAIRS_INDEX = "ix_search_docs_pairs_tsv"
TRGM_INDEX = "ix_search_terms_trgm"
# PostgreSQL: 'simple' (no stemming, no stop words: Vietnamese has neither) behind the
# `unaccent` dictionary, whose rules fold every Vietnamese mark and đ/Đ the way
# sohoa.records.search.text.fold does (tests/test_search_postgresql.py compares them).
TS_CONFIG = "sohoa_vi"
ENGINE_INDEXES = (TSV_INDEX, PAIRS_INDEX, TRGM_INDEX)

# SQLite: FTS5 reads its columns from this view when it reads them at all ('rebuild',
# 'integrity-check'); ranking and matching read only the index. The word pairs are computed
# (db.word_pairs), never stored: stored, they would have doubled search_docs (10^5 records:
# +370 MiB for the folded pairs alone, against +150 MiB for their index).
FTS_SOURCE = "search_fts_source"
_PAIRS_OF = "{0}.exact, {0}.folded, sohoa_pairs({0}.exact), sohoa_pairs({0}.folded)"
_SQLITE = (
    f"""CREATE VIEW {FTS_SOURCE} AS SELECT record_id, exact, folded,
        sohoa_pairs(exact) AS exact_pairs, sohoa_pairs(folded) AS folded_pairs
        FROM search_docs""",
    # External content: the text lives once, in search_docs; the triggers keep FTS5 in step.
    # No diacritics removal: search_docs.folded is folded already, search_docs.exact must
    # keep them to rank exact matches first. Every two words side by side are one token of
    # exact_pairs and folded_pairs (migration 0013): a phrase is matched and scored by its
    # pairs, whose doclists are short and whose positions are few; by its words, bm25's
    # count of the documents holding "nguyen thi minh khai" walked every document with
    # "khai" and tested four long position lists (10^5 records: 38 ms, by pairs 3.6 ms).
    # "_" joins a pair's words and is no part of any word.
    f"""CREATE VIRTUAL TABLE {FTS_TABLE} USING fts5(exact, folded, exact_pairs, folded_pairs,
        content='{FTS_SOURCE}', content_rowid='record_id',
        tokenize="unicode61 remove_diacritics 0 tokenchars '_'")""",
    f"""CREATE TRIGGER search_docs_after_insert AFTER INSERT ON search_docs BEGIN
        INSERT INTO {FTS_TABLE}(rowid, exact, folded, exact_pairs, folded_pairs)
        VALUES (new.record_id, {_PAIRS_OF.format("new")}); END""",
    f"""CREATE TRIGGER search_docs_after_delete AFTER DELETE ON search_docs BEGIN
        INSERT INTO {FTS_TABLE}({FTS_TABLE}, rowid, exact, folded, exact_pairs, folded_pairs)
        VALUES ('delete', old.record_id, {_PAIRS_OF.format("old")}); END""",
    f"""CREATE TRIGGER search_docs_after_update AFTER UPDATE OF exact, folded ON search_docs
        BEGIN
        INSERT INTO {FTS_TABLE}({FTS_TABLE}, rowid, exact, folded, exact_pairs, folded_pairs)
        VALUES ('delete', old.record_id, {_PAIRS_OF.format("old")});
        INSERT INTO {FTS_TABLE}(rowid, exact, folded, exact_pairs, folded_pairs)
        VALUES (new.record_id, {_PAIRS_OF.format("new")}); END""",
)
_SQLITE_DROP = (
    "DROP TRIGGER IF EXISTS search_docs_after_insert",
    "DROP TRIGGER IF EXISTS search_docs_after_delete",
    "DROP TRIGGER IF EXISTS search_docs_after_update",
    f"DROP TABLE IF EXISTS {FTS_TABLE}",
    f"DROP VIEW IF EXISTS {FTS_SOURCE}",
)
# FTS5 fills its index from FTS_SOURCE (migration 0013; a whole rebuild goes through the
# triggers, sohoa.records.search.index.rebuild).
SQLITE_FILL = f"INSERT INTO {FTS_TABLE}({FTS_TABLE}) VALUES ('rebuild')"
# Every two folded words side by side, one lexeme each ('nguyen van', 'van binh'), for
# phrases (migration 0012): the GIN index of folded_tsv finds only the documents with all
# the words, and each must be read to test their positions ('nguyen phuong phuong' at 10^5
# records: 99291 documents read for 1035 matches, 390 ms).
PAIRS = (
    # Two unnests side by side, not w[i] in a loop: subscripting a text array walks it from
    # the start (4x slower per document at ~500 words).
    "CREATE FUNCTION sohoa_pairs(words text) RETURNS tsvector LANGUAGE sql IMMUTABLE "
    "PARALLEL SAFE AS $$ SELECT array_to_tsvector(ARRAY(SELECT a || ' ' || b "
    "FROM unnest(w[:cardinality(w) - 1], w[2:]) AS t(a, b))) "
    "FROM string_to_array(words, ' ') AS w $$",
    "ALTER TABLE search_docs "
    "ADD COLUMN pairs_tsv tsvector GENERATED ALWAYS AS (sohoa_pairs(folded)) STORED",
    f"CREATE INDEX {PAIRS_INDEX} ON search_docs USING gin (pairs_tsv)",
)
# Token types of the default parser that may hold letters with marks; the others (ASCII
# words, numbers) have none to fold. Tokens never hold hyphens or dots (text.tokens).
_FOLDED_TOKENS = "word, numword, hword, hword_part, hword_numpart"
_POSTGRESQL = (
    # Trusted extensions (PostgreSQL >= 13): the database's owner may create them.
    "CREATE EXTENSION IF NOT EXISTS unaccent",
    "CREATE EXTENSION IF NOT EXISTS pg_trgm",
    f"CREATE TEXT SEARCH CONFIGURATION {TS_CONFIG} (COPY = simple)",
    f"ALTER TEXT SEARCH CONFIGURATION {TS_CONFIG} "
    f"ALTER MAPPING FOR {_FOLDED_TOKENS} WITH unaccent, simple",
    # Matching reads folded_tsv (the exact tokens folded by unaccent); exact_tsv only ranks
    # the user's own diacritics first.
    "ALTER TABLE search_docs "
    "ADD COLUMN exact_tsv tsvector GENERATED ALWAYS AS (to_tsvector('simple', exact)) STORED, "
    f"ADD COLUMN folded_tsv tsvector GENERATED ALWAYS AS (to_tsvector('{TS_CONFIG}', exact)) "
    "STORED",
    f"CREATE INDEX {TSV_INDEX} ON search_docs USING gin (folded_tsv)",
    *PAIRS,
    f"CREATE INDEX {TRGM_INDEX} ON search_terms USING gin (term gin_trgm_ops)",
)
_POSTGRESQL_DROP = (
    f"DROP INDEX IF EXISTS {TRGM_INDEX}",
    f"DROP INDEX IF EXISTS {PAIRS_INDEX}",
    f"DROP INDEX IF EXISTS {TSV_INDEX}",
    "ALTER TABLE search_docs DROP COLUMN IF EXISTS exact_tsv, DROP COLUMN IF EXISTS folded_tsv, "
    "DROP COLUMN IF EXISTS pairs_tsv",
    "DROP FUNCTION IF EXISTS sohoa_pairs(text)",
    f"DROP TEXT SEARCH CONFIGURATION IF EXISTS {TS_CONFIG}",
)


def create_engine_objects(connection: Connection) -> None:
    if connection.dialect.name == "sqlite":
        for statement in _SQLITE:
            connection.exec_driver_sql(statement)
        return
    _require_extensions(connection)
    for statement in _POSTGRESQL:
        connection.exec_driver_sql(statement)


def _require_extensions(connection: Connection) -> None:
    """One clear line, not a driver traceback, when the server lacks the extensions
    (postgresql-contrib not installed) or the role may not create them."""
    missing = (
        connection.exec_driver_sql(
            "SELECT e.name FROM unnest(ARRAY['unaccent', 'pg_trgm']) AS e(name) "
            "LEFT JOIN pg_available_extensions a ON a.name = e.name WHERE a.name IS NULL"
        )
        .scalars()
        .all()
    )
    if missing:
        raise SohoaError(
            f"PostgreSQL lacks the extension(s) {', '.join(missing)} that search needs: "
            "install the server's contrib package (postgresql-contrib)"
        )
    allowed = connection.exec_driver_sql(
        "SELECT has_database_privilege(current_database(), 'CREATE')"
    ).scalar()
    installed = connection.exec_driver_sql(
        "SELECT count(*) FROM pg_extension WHERE extname IN ('unaccent', 'pg_trgm')"
    ).scalar()
    if installed < 2 and not allowed:
        raise SohoaError(
            "search needs the PostgreSQL extensions unaccent and pg_trgm: run "
            "CREATE EXTENSION unaccent; CREATE EXTENSION pg_trgm; as the database's owner"
        )


def drop_engine_objects(connection: Connection) -> None:
    for statement in _SQLITE_DROP if connection.dialect.name == "sqlite" else _POSTGRESQL_DROP:
        connection.exec_driver_sql(statement)


def compare_filter(
    obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any
) -> bool:
    """Alembic `include_object`: False for the engine structures above, which exist in the
    database and not in the models on purpose."""
    if not reflected or name is None:
        return True
    if type_ == "table":
        return not name.startswith(FTS_TABLE)
    if type_ == "column":
        return name not in TSV_COLUMNS
    if type_ == "index":
        return name not in ENGINE_INDEXES
    return True
