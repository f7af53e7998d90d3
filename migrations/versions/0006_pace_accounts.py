"""Pace accounts: one row per credential and kind of call, the next free call slot.

Every runner process sharing a credential reserves its calls' slots from these rows
(`db.pace_ledger`), so together they keep the platform's pace.

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.create_table(
        "pace_accounts",
        sa.Column("account", sa.String(100), primary_key=True),
        sa.Column("next_at", sa.Float(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("pace_accounts")
