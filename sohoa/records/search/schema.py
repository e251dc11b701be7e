"""The engine structures over `search_docs` that SQLAlchemy does not model: an FTS5 table
kept by triggers on SQLite, generated tsvector columns with a GIN index on PostgreSQL.
Created by migration 0006; `compare_filter` keeps them out of the models/migrations check."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection

FTS_TABLE = "search_fts"  # SQLite; its shadow tables are search_fts_data, _idx, ...
TSV_COLUMNS = ("exact_tsv", "folded_tsv")  # PostgreSQL
TSV_INDEX = "ix_search_docs_folded_tsv"

_SQLITE = (
    # External content: the text lives once, in search_docs; the triggers keep FTS5 in step.
    # No diacritics removal: search_docs.folded is folded already, search_docs.exact must
    # keep them to rank exact matches first.
    f"""CREATE VIRTUAL TABLE {FTS_TABLE} USING fts5(exact, folded, content='search_docs',
        content_rowid='record_id', tokenize='unicode61 remove_diacritics 0')""",
    f"""CREATE TRIGGER search_docs_after_insert AFTER INSERT ON search_docs BEGIN
        INSERT INTO {FTS_TABLE}(rowid, exact, folded)
        VALUES (new.record_id, new.exact, new.folded); END""",
    f"""CREATE TRIGGER search_docs_after_delete AFTER DELETE ON search_docs BEGIN
        INSERT INTO {FTS_TABLE}({FTS_TABLE}, rowid, exact, folded)
        VALUES ('delete', old.record_id, old.exact, old.folded); END""",
    f"""CREATE TRIGGER search_docs_after_update AFTER UPDATE OF exact, folded ON search_docs
        BEGIN
        INSERT INTO {FTS_TABLE}({FTS_TABLE}, rowid, exact, folded)
        VALUES ('delete', old.record_id, old.exact, old.folded);
        INSERT INTO {FTS_TABLE}(rowid, exact, folded)
        VALUES (new.record_id, new.exact, new.folded); END""",
)
_SQLITE_DROP = (
    "DROP TRIGGER IF EXISTS search_docs_after_insert",
    "DROP TRIGGER IF EXISTS search_docs_after_delete",
    "DROP TRIGGER IF EXISTS search_docs_after_update",
    f"DROP TABLE IF EXISTS {FTS_TABLE}",
)
_POSTGRESQL = (
    # 'simple': no stemming or stop words (Vietnamese has neither); the tokens are lower
    # case already. Matching reads folded_tsv; exact_tsv only ranks exact diacritics first.
    "ALTER TABLE search_docs "
    "ADD COLUMN exact_tsv tsvector GENERATED ALWAYS AS (to_tsvector('simple', exact)) STORED, "
    "ADD COLUMN folded_tsv tsvector GENERATED ALWAYS AS (to_tsvector('simple', folded)) STORED",
    f"CREATE INDEX {TSV_INDEX} ON search_docs USING gin (folded_tsv)",
)
_POSTGRESQL_DROP = (
    f"DROP INDEX IF EXISTS {TSV_INDEX}",
    "ALTER TABLE search_docs DROP COLUMN IF EXISTS exact_tsv, DROP COLUMN IF EXISTS folded_tsv",
)


def create_engine_objects(connection: Connection) -> None:
    for statement in _SQLITE if connection.dialect.name == "sqlite" else _POSTGRESQL:
        connection.exec_driver_sql(statement)


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
        return name != TSV_INDEX
    return True
