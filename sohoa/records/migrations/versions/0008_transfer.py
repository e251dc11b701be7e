"""transfer packages to the historical archive

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02 00:00:00.000000

One row per BagIt package that `sohoa package` writes (its folder, the selection it was
made for, whether it is finished), and one per record it took or left out, with the files
and digests written for it: an interrupted run continues from these rows, the manifests
are written from them without reading the payload again, and coverage counts the
handed-over dossiers through them.
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "transfer_packages",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("identifier", sa.String(length=64), nullable=False),
        sa.Column("target", sa.Text(), nullable=False),
        sa.Column("selection", sa.JSON(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("records", sa.Integer(), nullable=False),
        sa.Column("excluded", sa.Integer(), nullable=False),
        sa.Column("payload_bytes", sa.BigInteger(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("identifier"),
        sa.UniqueConstraint("target"),
    )
    op.create_table(
        "transfer_items",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("package_id", sa.Integer(), nullable=False),
        sa.Column("record_id", sa.Integer(), nullable=False),
        sa.Column("included", sa.Boolean(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("files", sa.JSON(), nullable=False),
        sa.Column("row", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(["package_id"], ["transfer_packages.id"]),
        sa.ForeignKeyConstraint(["record_id"], ["records.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("package_id", "record_id"),
    )
    op.create_index("ix_transfer_items_record_id", "transfer_items", ["record_id"])


def downgrade() -> None:
    op.drop_index("ix_transfer_items_record_id", table_name="transfer_items")
    op.drop_table("transfer_items")
    op.drop_table("transfer_packages")
