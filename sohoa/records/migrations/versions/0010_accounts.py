"""accounts, API tokens, record access log (sohoa serve)

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-02 00:00:00.000000

Skeleton laid down first so that changes made in parallel chain in a fixed order;
the change that owns it fills in upgrade() and downgrade().
"""

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
