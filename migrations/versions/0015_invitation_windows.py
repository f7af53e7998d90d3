"""GitHub organizations' invitation windows, shared by every runner process on PostgreSQL.

`invitation_windows`: one row per organization, its small state (the limit learned and until
when, until when a refusal closed it) and the lock its takers hold; `invitation_places`: one row
per invitee's place, indexed by (org, at) for the place `limit` back (GitHub allows 500
organization invitations a day, 50 for a young free organization).

Plain CREATE TABLE / CREATE INDEX (no batch rebuild).

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
        sa.Column("org", sa.String(100), nullable=False),
        sa.Column("limit", sa.Integer(), nullable=False),
        sa.Column("limit_until", sa.Float(), nullable=False),
        sa.Column("closed_until", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("org", name=op.f("pk_invitation_windows")),
    )
    op.create_table(
        "invitation_places",
        sa.Column("org", sa.String(100), nullable=False),
        sa.Column("login", sa.String(100), nullable=False),
        sa.Column("at", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("org", "login", name=op.f("pk_invitation_places")),
    )
    op.create_index("ix_invitation_places_org_at", "invitation_places", ["org", "at"])


def downgrade() -> None:
    op.drop_index("ix_invitation_places_org_at", table_name="invitation_places")
    op.drop_table("invitation_places")
    op.drop_table("invitation_windows")
