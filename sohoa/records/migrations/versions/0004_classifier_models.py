"""trained classifier models, versioned

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-27 00:00:00.000000

(Skeleton: filled in by the trained-classifier change.)
"""

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
