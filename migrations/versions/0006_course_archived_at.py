"""Courses remember when they were archived (end of term): null while the course is active.

A plain ADD COLUMN on both databases: no batch rebuild of `courses`, whose trigger (0004) a
rebuild would drop.

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
    op.add_column("courses", sa.Column("archived_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    # SQLite 3.35+ drops a column in place, keeping the table (and its trigger).
    op.drop_column("courses", "archived_at")
