"""full-text search index over archived records and the search access log

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02 00:00:00.000000

search_docs holds each record's tokens with and without diacritics and the fields the
filters read; the engine structures over it (FTS5 on SQLite, tsvector + GIN on PostgreSQL)
come from sohoa.records.search.schema. search_identifiers: CCCD/CMND and document numbers;
search_terms: the vocabulary for misread words; search_access_log: who searched for what.
Existing archived records are indexed here (sohoa.records.search.index reads named columns only).
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.orm import Session

from sohoa.records.search import index, schema

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "search_docs",
        sa.Column("record_id", sa.Integer(), nullable=False),
        sa.Column("batch_id", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("procedure", sa.String(length=80), nullable=True),
        sa.Column("procedure_code", sa.String(length=40), nullable=True),
        sa.Column("unit", sa.String(length=200), nullable=True),
        sa.Column("year", sa.Integer(), nullable=True),
        sa.Column("code", sa.String(length=80), nullable=True),
        sa.Column("exact", sa.Text(), nullable=False),
        sa.Column("folded", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["record_id"], ["records.id"]),
        sa.PrimaryKeyConstraint("record_id"),
    )
    op.create_index("ix_search_docs_procedure_year", "search_docs", ["procedure", "year"])
    op.create_index("ix_search_docs_year", "search_docs", ["year"])
    op.create_index("ix_search_docs_batch_state", "search_docs", ["batch_id", "state"])
    op.create_index("ix_search_docs_code", "search_docs", ["code"])
    op.create_table(
        "search_identifiers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("record_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("value", sa.String(length=80), nullable=False),
        sa.ForeignKeyConstraint(["record_id"], ["records.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "ix_search_identifiers_kind_value", "search_identifiers", ["kind", "value"]
    )
    op.create_index("ix_search_identifiers_record_id", "search_identifiers", ["record_id"])
    op.create_table(
        "search_terms",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("term", sa.String(length=40), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("term"),
    )
    op.create_table(
        "search_access_log",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("os_user", sa.String(length=200), nullable=False),
        sa.Column("database_role", sa.String(length=200), nullable=True),
        sa.Column("query", sa.Text(), nullable=False),
        sa.Column("filters", sa.JSON(), nullable=False),
        sa.Column("hits", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_search_access_log_at", "search_access_log", ["at"])
    connection = op.get_bind()
    schema.create_engine_objects(connection)
    with Session(bind=connection) as session:
        index.rebuild(session)


def downgrade() -> None:
    schema.drop_engine_objects(op.get_bind())
    op.drop_table("search_access_log")
    op.drop_table("search_terms")
    op.drop_index("ix_search_identifiers_record_id", table_name="search_identifiers")
    op.drop_table("search_identifiers")
    op.drop_table("search_docs")
