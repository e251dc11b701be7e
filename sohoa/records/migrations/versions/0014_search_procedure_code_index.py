"""search: an index on search_docs (procedure_code, year)

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-07 00:00:00.000000

The procedure filter takes the catalogue key or the national code (`procedure = x OR
procedure_code = x`). With an index on each side of the OR, PostgreSQL answers the filter
from two index scans (BitmapOr) and intersects it with the words' GIN index; with one side
unindexed it read every document of the year that had the word, and tested its procedure
row by row (word + procedure + year at 10^6 records: 1321 rows kept of 34287 read, 281 ms).
SQLite filters through FTS5 tokens and gets the index too: the models are one schema.
"""

from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

INDEX = "ix_search_docs_procedure_code_year"


def upgrade() -> None:
    op.create_index(INDEX, "search_docs", ["procedure_code", "year"])


def downgrade() -> None:
    op.drop_index(INDEX, table_name="search_docs")
