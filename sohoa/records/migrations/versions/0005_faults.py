"""redact secrets from batch config snapshots; fault-handling columns

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02 00:00:00.000000

Skeleton laid down first so that changes made in parallel chain in a fixed order;
the change that owns it fills in upgrade() and downgrade().
"""

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
