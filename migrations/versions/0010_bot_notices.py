"""The bot's notices: what the course log was told about the bot itself, once.

`bot_notices`: one row per notice posted (the server count near the cap of unverified Discord
apps), taken before the message is sent, so one bot of several posts it once, and removed when
the count is back under the warning (the next crossing is posted again). A plain CREATE TABLE.

Revision ID: 0010
Revises: 0009
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.create_table(
        "bot_notices",
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("posted_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_bot_notices")),
    )


def downgrade() -> None:
    op.drop_table("bot_notices")
