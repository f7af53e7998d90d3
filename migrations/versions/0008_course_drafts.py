"""Course drafts (a `/course create` or `/course roster` preview waiting for Confirm or Cancel)
and course milestones (what the course log posted).

Revision ID: 0008
Revises: 0007
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.create_table(
        "course_drafts",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("spec", sa.JSON(), nullable=False),
        sa.Column("actor", sa.String(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("course_id", sa.String(36), nullable=True),
        sa.Column("decision", sa.String(16), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("confirm_removals", sa.Integer(), nullable=True),
        sa.CheckConstraint(
            "kind IN ('create', 'roster', 'archive', 'unarchive')",
            name=op.f("ck_course_drafts_kind"),
        ),
        sa.CheckConstraint(
            "decision IN ('confirmed', 'cancelled')", name=op.f("ck_course_drafts_decision")
        ),
        sa.ForeignKeyConstraint(
            ["course_id"],
            ["courses.id"],
            name=op.f("fk_course_drafts_course_id_courses"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_course_drafts")),
    )
    op.create_table(
        "course_milestones",
        sa.Column("course_id", sa.String(36), nullable=False),
        sa.Column("milestone", sa.String(32), nullable=False),
        sa.Column("posted_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["course_id"],
            ["courses.id"],
            name=op.f("fk_course_milestones_course_id_courses"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("course_id", "milestone", name=op.f("pk_course_milestones")),
    )


def downgrade() -> None:
    op.drop_table("course_milestones")
    op.drop_table("course_drafts")
