"""Pace shared further: GitHub's hourly content budget and the headers' buckets, per credential.

`pace_accounts.recent`: the last slots an account with a budget took (GitHub allows 500
content-creating requests an hour), so every process keeps the budget together.

`pace_buckets`: one row per credential and rate-limit bucket (Discord's per-route buckets,
GitHub's hourly primary limit), counted by every process before a call is sent.

Plain ADD COLUMN and CREATE TABLE (no batch rebuild).

Revision ID: 0013
Revises: 0012
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.add_column(
        "pace_accounts",
        sa.Column("recent", sa.JSON().with_variant(postgresql.ARRAY(sa.Float()), "postgresql")),
    )
    op.create_table(
        "pace_buckets",
        sa.Column("account", sa.String(100), primary_key=True),
        sa.Column("bucket", sa.Text(), primary_key=True),
        sa.Column("limit_n", sa.Integer(), nullable=True),
        sa.Column("remaining", sa.Integer(), nullable=True),
        sa.Column("reset_at", sa.Float(), nullable=False),
        sa.Column("window_s", sa.Float(), nullable=False),
        sa.Column("closed_until", sa.Float(), nullable=False),
        sa.Column("probe_until", sa.Float(), nullable=False),
        sa.Column("wait_s", sa.Float(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("pace_buckets")
    if op.get_bind().dialect.name == "sqlite":
        op.execute("ALTER TABLE pace_accounts DROP COLUMN recent")
    else:
        op.drop_column("pace_accounts", "recent")
