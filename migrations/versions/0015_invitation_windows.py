"""GitHub organizations' invitation windows, shared by every runner process on PostgreSQL.

`invitation_windows`: one row per organization, a JSON document of the invitations' places
(GitHub allows 500 organization invitations a day, 50 for a young free organization).

Plain CREATE TABLE (no batch rebuild).

Revision ID: 0015
Revises: 0014
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.create_table(
        "invitation_windows",
        sa.Column("org", sa.String(100), primary_key=True),
        sa.Column("state", sa.JSON(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("invitation_windows")
