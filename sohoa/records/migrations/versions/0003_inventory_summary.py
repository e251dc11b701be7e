"""per-item digitization summary on inventory_items, so coverage reads one table

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-27 00:00:00.000000

(Skeleton: filled in by the inventory-summary change.)
"""

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
