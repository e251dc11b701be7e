"""search: the procedure filter's indexes end with the record id, on both of its columns

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-07 00:00:00.000000

The procedure filter takes the catalogue key or the national code. search_docs had an index
on (procedure, year) only: PostgreSQL read every document of the year that held the word
and tested its procedure row by row (word + procedure + year at 10^6 records: 1321 rows
kept of 34287 read, 281 ms). Now (procedure, year, record_id) replaces it, and
(procedure_code, year, record_id) joins it: each side of the filter is read newest first
from its own index (sohoa.records.search.engine._newest_filtered). SQLite filters through
FTS5 tokens and gets the indexes too: the models are one schema.
"""

from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

_OLD = ("ix_search_docs_procedure_year", ["procedure", "year"])
_NEW = (
    ("ix_search_docs_procedure_year_id", ["procedure", "year", "record_id"]),
    ("ix_search_docs_procedure_code_year_id", ["procedure_code", "year", "record_id"]),
)


def upgrade() -> None:
    for name, columns in _NEW:
        op.create_index(name, "search_docs", columns)
    op.drop_index(_OLD[0], table_name="search_docs")


def downgrade() -> None:
    op.create_index(_OLD[0], "search_docs", _OLD[1])
    for name, _columns in _NEW:
        op.drop_index(name, table_name="search_docs")
