"""per-item digitization summary on inventory_items, and its sums per coverage cell

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-27 00:00:00.000000

Coverage at archive scale (10^6 items, 10^6 records) joined every item to its records and
took seconds. Each item now carries the summary of its linked signed copies (records in
archived or needs_review): first and last archiving time and their pages, kept up to date by
sohoa.records.summary. coverage_cells sums the items per (procedure, unit, year), so that
coverage adds up a few thousand rows; a covering index (procedure, unit, year, summary...)
serves coverage --since, and one on first_digitized_at the projection and the burn-up. The
single-column indexes of 0002 served only the old join and go.

records.inventory_link_source says what made a record's link (mapping, folder, qr, text):
links made before this revision were all made by folder name.

The backfill computes the summaries from the records as they are, then the cells from the
items, one statement each.
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

# Snapshots of the tables as this revision knows them (never the application's models).
items = sa.table(
    "inventory_items",
    sa.column("id", sa.Integer),
    sa.column("procedure", sa.String),
    sa.column("unit", sa.String),
    sa.column("year", sa.Integer),
    sa.column("expected_pages", sa.Integer),
    sa.column("first_digitized_at", sa.DateTime(timezone=True)),
    sa.column("last_digitized_at", sa.DateTime(timezone=True)),
    sa.column("digitized_pages", sa.Integer),
)
records = sa.table(
    "records",
    sa.column("inventory_item_id", sa.Integer),
    sa.column("inventory_link_source", sa.String),
    sa.column("state", sa.String),
    sa.column("archived_at", sa.DateTime(timezone=True)),
    sa.column("page_count", sa.Integer),
)
SIGNED_STATES = ("archived", "needs_review")
CELL_SUMS = ("items", "digitized", "expected_pages", "digitized_pages", "remaining_pages")
OLD_INDEXES = ("procedure", "unit", "year")  # ix_inventory_items_<name> of 0002
COVERING_INDEX = [
    *["procedure", "unit", "year", "first_digitized_at", "last_digitized_at"],
    *["expected_pages", "digitized_pages"],
]


def upgrade() -> None:
    op.add_column("inventory_items", sa.Column("first_digitized_at", sa.DateTime(timezone=True)))
    op.add_column("inventory_items", sa.Column("last_digitized_at", sa.DateTime(timezone=True)))
    op.add_column(
        "inventory_items",
        sa.Column("digitized_pages", sa.Integer(), server_default="0", nullable=False),
    )
    op.add_column("records", sa.Column("inventory_link_source", sa.String(length=16)))
    op.create_table(
        "coverage_cells",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("procedure", sa.String(length=80), nullable=False),
        sa.Column("unit", sa.String(length=200), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        *(sa.Column(name, sa.Integer(), nullable=False) for name in CELL_SUMS),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("procedure", "unit", "year"),
    )
    _backfill()
    with op.batch_alter_table("inventory_items", schema=None) as batch_op:
        for name in OLD_INDEXES:
            batch_op.drop_index(f"ix_inventory_items_{name}")
        batch_op.create_index("ix_inventory_items_coverage", COVERING_INDEX, unique=False)
        batch_op.create_index(
            "ix_inventory_items_first_digitized_at", ["first_digitized_at"], unique=False
        )


def _backfill() -> None:
    """Summaries of the items that have a signed copy (the others keep NULL, NULL, 0), the
    cells from the items, and the source of the links made so far."""
    signed = sa.and_(records.c.inventory_item_id == items.c.id, records.c.state.in_(SIGNED_STATES))
    linked_and_signed = (
        sa.select(records.c.inventory_item_id)
        .where(records.c.state.in_(SIGNED_STATES))
        .where(records.c.inventory_item_id.is_not(None))
    )
    op.execute(
        items.update()
        .where(items.c.id.in_(linked_and_signed))
        .values(
            first_digitized_at=sa.select(sa.func.min(records.c.archived_at))
            .where(signed)
            .scalar_subquery(),
            last_digitized_at=sa.select(sa.func.max(records.c.archived_at))
            .where(signed)
            .scalar_subquery(),
            digitized_pages=sa.select(sa.func.coalesce(sa.func.sum(records.c.page_count), 0))
            .where(signed)
            .scalar_subquery(),
        )
    )
    done = items.c.first_digitized_at.is_not(None)
    expected = sa.func.coalesce(items.c.expected_pages, 0)
    key = (items.c.procedure, items.c.unit, sa.func.coalesce(items.c.year, 0))  # 0: no year
    cells = sa.table("coverage_cells", *(sa.column(n) for n in ("procedure", "unit", "year",
                                                                   *CELL_SUMS)))  # fmt: skip
    sums = sa.select(
        *key,
        sa.func.count(),
        sa.func.sum(sa.case((done, 1), else_=0)),
        sa.func.sum(expected),
        sa.func.sum(items.c.digitized_pages),
        sa.func.sum(sa.case((done, 0), else_=expected)),
    ).group_by(*key)
    op.execute(cells.insert().from_select(["procedure", "unit", "year", *CELL_SUMS], sums))
    op.execute(
        records.update()
        .where(records.c.inventory_item_id.is_not(None))
        .values(inventory_link_source="folder")
    )


def downgrade() -> None:
    with op.batch_alter_table("inventory_items", schema=None) as batch_op:
        batch_op.drop_index("ix_inventory_items_first_digitized_at")
        batch_op.drop_index("ix_inventory_items_coverage")
        for name in OLD_INDEXES:
            batch_op.create_index(f"ix_inventory_items_{name}", [name], unique=False)
    op.drop_table("coverage_cells")
    # Plain ALTER TABLE ... DROP COLUMN (SQLite >= 3.35): a batch copy of inventory_items
    # would drop the table that records point to.
    op.drop_column("records", "inventory_link_source")
    for column in ("digitized_pages", "last_digitized_at", "first_digitized_at"):
        op.drop_column("inventory_items", column)
