"""Scale: pace accounts shared by every process, and steps claimed per platform.

`pace_accounts`: one row per credential and kind of call, the next free call slot; every
runner process sharing a credential reserves its calls' slots there (`db.pace_ledger`), so
together they keep the platform's pace.

`steps.platform` (the kind's first part) and `ix_steps_platform_ready`: a runner claims each
platform's ready steps apart, lowest plan position first. Plain ADD COLUMN and CREATE INDEX
on both databases: no batch rebuild of `steps`, whose triggers (0004) a rebuild would drop.

Revision ID: 0009
Revises: 0008
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.create_table(
        "pace_accounts",
        sa.Column("account", sa.String(100), primary_key=True),
        sa.Column("next_at", sa.Float(), nullable=False),
    )
    op.add_column(
        "steps",
        sa.Column("platform", sa.String(16), nullable=False, server_default=sa.text("''")),
    )
    if op.get_bind().dialect.name == "sqlite":
        op.execute("UPDATE steps SET platform = substr(kind, 1, instr(kind || '.', '.') - 1)")
    else:
        op.execute("UPDATE steps SET platform = split_part(kind, '.', 1)")
    op.create_index(
        "ix_steps_platform_ready", "steps", ["platform", "state", "unfinished_deps", "position"]
    )


def downgrade() -> None:
    op.drop_index("ix_steps_platform_ready", table_name="steps")
    if op.get_bind().dialect.name == "sqlite":
        # DROP COLUMN needs SQLite 3.35; the index on it is gone already.
        op.execute("ALTER TABLE steps DROP COLUMN platform")
    else:
        op.drop_column("steps", "platform")
    op.drop_table("pace_accounts")
