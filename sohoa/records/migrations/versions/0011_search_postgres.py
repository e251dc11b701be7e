"""search on PostgreSQL: unaccent, pg_trgm

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-02 00:00:00.000000

Skeleton laid down first so that changes made in parallel chain in a fixed order;
the change that owns it fills in upgrade() and downgrade().
"""

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
