"""search on SQLite: word pairs as FTS5 tokens

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-07 00:00:00.000000

SQLite only: search_fts gets the columns exact_pairs and folded_pairs (every two words side
by side as one token, "nguyen_van"), read from the view search_fts_source through the
function sohoa_pairs that every connection registers (sohoa.records.db.word_pairs); the
triggers index them with the words (sohoa.records.search.schema). Phrases are matched and
scored by their pairs. The index is filled from search_docs by FTS5's 'rebuild', without
reading the pages again. A database that 0006 created with this code has the newest
structures already and is left as it is. PostgreSQL is unchanged (pairs_tsv, 0012).
"""

from alembic import op
from sqlalchemy import Connection

from sohoa.records.search import schema

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

# The SQLite structures as migrations 0006 to 0012 built them, for the downgrade (frozen
# here: schema.py describes the newest ones).
_0012_SQLITE = (
    """CREATE VIRTUAL TABLE search_fts USING fts5(exact, folded, content='search_docs',
        content_rowid='record_id', tokenize='unicode61 remove_diacritics 0')""",
    """CREATE TRIGGER search_docs_after_insert AFTER INSERT ON search_docs BEGIN
        INSERT INTO search_fts(rowid, exact, folded)
        VALUES (new.record_id, new.exact, new.folded); END""",
    """CREATE TRIGGER search_docs_after_delete AFTER DELETE ON search_docs BEGIN
        INSERT INTO search_fts(search_fts, rowid, exact, folded)
        VALUES ('delete', old.record_id, old.exact, old.folded); END""",
    """CREATE TRIGGER search_docs_after_update AFTER UPDATE OF exact, folded ON search_docs
        BEGIN
        INSERT INTO search_fts(search_fts, rowid, exact, folded)
        VALUES ('delete', old.record_id, old.exact, old.folded);
        INSERT INTO search_fts(rowid, exact, folded)
        VALUES (new.record_id, new.exact, new.folded); END""",
    "INSERT INTO search_fts(search_fts) VALUES ('rebuild')",
)


def _has_pairs(connection: Connection) -> bool:
    found = connection.exec_driver_sql(
        "SELECT 1 FROM sqlite_master WHERE type = 'view' AND name = ?", (schema.FTS_SOURCE,)
    )
    return found.first() is not None


def upgrade() -> None:
    connection = op.get_bind()
    if connection.dialect.name != "sqlite" or _has_pairs(connection):
        return
    schema.drop_engine_objects(connection)
    schema.create_engine_objects(connection)
    connection.exec_driver_sql(schema.SQLITE_FILL)


def downgrade() -> None:
    connection = op.get_bind()
    if connection.dialect.name != "sqlite":
        return
    schema.drop_engine_objects(connection)
    for statement in _0012_SQLITE:
        connection.exec_driver_sql(statement)
