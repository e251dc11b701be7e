"""full-text search index over archived records and the search access log

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02 00:00:00.000000

Skeleton laid down first so that changes made in parallel chain in a fixed order;
the change that owns it fills in upgrade() and downgrade().
"""

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
