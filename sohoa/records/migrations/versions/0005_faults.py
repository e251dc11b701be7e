"""redact secrets from batch config snapshots

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02 00:00:00.000000

Batches used to keep the whole configuration, `database_url` with its password included:
anyone who could read the table (the read-only auditor role) got the read-write login. The
snapshot now goes through `sohoa.redact`; this migration does the same to the rows stored
before. It cannot be undone: the passwords are gone, which is the point.
"""

import sqlalchemy as sa
from alembic import op

from sohoa.redact import redact

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

_batches = sa.table("batches", sa.column("id", sa.Integer), sa.column("config", sa.JSON))


def upgrade() -> None:
    connection = op.get_bind()
    for batch_id, config in connection.execute(sa.select(_batches.c.id, _batches.c.config)):
        clean = redact(config or {})
        if clean != config:
            connection.execute(
                _batches.update().where(_batches.c.id == batch_id).values(config=clean)
            )


def downgrade() -> None:
    pass  # a redacted password cannot be put back
