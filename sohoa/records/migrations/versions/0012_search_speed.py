"""search at scale: filter tokens in SQLite's index, word pairs on PostgreSQL

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-07 00:00:00.000000

SQLite: search_docs.folded ends with the filter tokens (procedure, unit, year, batch;
sohoa.records.search.text.facet) that FTS5 intersects with the words: the index is rebuilt.
PostgreSQL: search_docs.pairs_tsv, every two folded words side by side, with a GIN index,
for phrases (sohoa.records.search.schema.PAIRS), dropped first: 0010 builds the newest
structures, pairs included, in the databases it creates. The SQLite downgrade keeps the
tokens: the code of 0011 filters on the columns, and no word of a query matches a token.
"""

from alembic import op
from sqlalchemy.orm import Session

from sohoa.records.search import index, schema

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

_DROP_PAIRS = (
    f"DROP INDEX IF EXISTS {schema.PAIRS_INDEX}",
    "ALTER TABLE search_docs DROP COLUMN IF EXISTS pairs_tsv",
    "DROP FUNCTION IF EXISTS sohoa_pairs(text)",
)


def upgrade() -> None:
    connection = op.get_bind()
    if connection.dialect.name == "sqlite":
        with Session(bind=connection) as session:
            index.rebuild(session)
        return
    for statement in (*_DROP_PAIRS, *schema.PAIRS):
        connection.exec_driver_sql(statement)


def downgrade() -> None:
    connection = op.get_bind()
    if connection.dialect.name == "postgresql":
        for statement in _DROP_PAIRS:
            connection.exec_driver_sql(statement)
