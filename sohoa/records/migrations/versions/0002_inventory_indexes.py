"""indexes for coverage against the inventory and the report

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-28 00:00:00.000000

Coverage groups every inventory item by procedure, unit or year and joins it to its
archived records; the report looks up each record's latest `verify` event. Without these
indexes both scan whole tables, which at archive scale (10^6 items, 10^7 events) is slow.
"""

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("inventory_items", schema=None) as batch_op:
        batch_op.create_index("ix_inventory_items_procedure", ["procedure"], unique=False)
        batch_op.create_index("ix_inventory_items_unit", ["unit"], unique=False)
        batch_op.create_index("ix_inventory_items_year", ["year"], unique=False)
    with op.batch_alter_table("records", schema=None) as batch_op:
        batch_op.create_index(
            "ix_records_inventory_item_state", ["inventory_item_id", "state"], unique=False
        )
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.create_index("ix_events_kind_record", ["kind", "record_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.drop_index("ix_events_kind_record")
    with op.batch_alter_table("records", schema=None) as batch_op:
        batch_op.drop_index("ix_records_inventory_item_state")
    with op.batch_alter_table("inventory_items", schema=None) as batch_op:
        batch_op.drop_index("ix_inventory_items_year")
        batch_op.drop_index("ix_inventory_items_unit")
        batch_op.drop_index("ix_inventory_items_procedure")
