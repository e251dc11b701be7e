"""search on PostgreSQL folds with `unaccent` and finds misread words with `pg_trgm`

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-07 00:00:00.000000

PostgreSQL only: creates the extensions unaccent and pg_trgm, the text search configuration
sohoa_vi (unaccent, then simple), regenerates search_docs.folded_tsv with it, and adds a
trigram GIN index over the vocabulary (search_terms.term) for the misread-word lookup
(sohoa.records.search.schema). SQLite's FTS5 index is unchanged.
"""

from alembic import op

from sohoa.records.search import schema

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

# The structures as migration 0006 built them, for the downgrade (frozen here: schema.py
# describes the newest ones).
_0006_POSTGRESQL = (
    "ALTER TABLE search_docs "
    "ADD COLUMN exact_tsv tsvector GENERATED ALWAYS AS (to_tsvector('simple', exact)) STORED, "
    "ADD COLUMN folded_tsv tsvector GENERATED ALWAYS AS (to_tsvector('simple', folded)) STORED",
    "CREATE INDEX ix_search_docs_folded_tsv ON search_docs USING gin (folded_tsv)",
)


def upgrade() -> None:
    connection = op.get_bind()
    if connection.dialect.name != "postgresql":
        return
    # Databases made by 0006 before this revision have the 'simple' columns; new ones have
    # these already (0006 builds the newest structures): dropping and creating covers both.
    schema.drop_engine_objects(connection)
    schema.create_engine_objects(connection)


def downgrade() -> None:
    connection = op.get_bind()
    if connection.dialect.name != "postgresql":
        return
    schema.drop_engine_objects(connection)
    for statement in _0006_POSTGRESQL:
        connection.exec_driver_sql(statement)
    # The extensions stay: other objects of the database may use them.
