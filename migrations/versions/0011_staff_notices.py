"""Staff notices: what the join page refused and staff must act on, posted to the course log.

Revision ID: 0011
Revises: 0010
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.create_table(
        "staff_notices",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("course_id", sa.String(length=36), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("reason", sa.String(length=64), nullable=False),
        sa.Column("person", sa.String(), nullable=False),
        sa.Column("what", sa.Text(), nullable=False),
        sa.Column("todo", sa.Text(), nullable=False),
        sa.Column("posted_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["course_id"],
            ["courses.id"],
            name=op.f("fk_staff_notices_course_id_courses"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_staff_notices")),
    )
    op.create_index(op.f("ix_staff_notices_posted_at"), "staff_notices", ["posted_at"])


def downgrade() -> None:
    op.drop_index(op.f("ix_staff_notices_posted_at"), table_name="staff_notices")
    op.drop_table("staff_notices")
