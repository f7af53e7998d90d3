"""A write's send mark waits for the previous write to say when it left.

`pace_accounts.pending_id` and `pending_until`: on a credential's send account, the marked
write whose send is not recorded yet, and until when it holds the next mark back at most
(`db.pace_ledger`). Plain ADD COLUMN, nullable (no batch rebuild).

Revision ID: 0017
Revises: 0016
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.add_column("pace_accounts", sa.Column("pending_id", sa.String(32), nullable=True))
    op.add_column("pace_accounts", sa.Column("pending_until", sa.Float(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("pace_accounts") as batch:
        batch.drop_column("pending_until")
        batch.drop_column("pending_id")
