"""trained classifier models, versioned

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-27 00:00:00.000000

One row per model file that `sohoa classify train` wrote: where it is, its SHA-256 (a worker
refuses a file that no longer matches), the catalogue version it was trained for, its
held-out metrics, and whether it is the one that classifies new records.
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "classifier_models",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("version", sa.String(length=40), nullable=False),
        sa.Column("path", sa.Text(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("catalogue_version", sa.String(length=40), nullable=False),
        sa.Column("format_version", sa.Integer(), nullable=False),
        sa.Column("sklearn_version", sa.String(length=20), nullable=False),
        sa.Column("training_size", sa.Integer(), nullable=False),
        sa.Column("labels", sa.JSON(), nullable=False),
        sa.Column("metrics", sa.JSON(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("version"),
    )


def downgrade() -> None:
    op.drop_table("classifier_models")
