"""`pace_buckets.granted`: how many calls the last take counted.

A process may count several calls of a bucket at once (`db.pace_ledger`, `want`) and spend
them itself; the take hands the number back through this column, as it does its wait through
`wait_s`. Existing rows start at 0 (nothing counted ahead).

Plain ADD COLUMN with a server default (no batch rebuild).

Revision ID: 0021
Revises: 0020
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0021"
down_revision: str | None = "0020"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.add_column(
        "pace_buckets",
        sa.Column("granted", sa.Integer(), nullable=False, server_default="0"),
    )


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute("ALTER TABLE pace_buckets DROP COLUMN granted")
    else:
        op.drop_column("pace_buckets", "granted")
