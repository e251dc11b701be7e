"""transfer packages to the historical archive

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02 00:00:00.000000

Skeleton laid down first so that changes made in parallel chain in a fixed order;
the change that owns it fills in upgrade() and downgrade().
"""

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
