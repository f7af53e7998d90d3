"""Roster links: the GitHub and Discord accounts people proved on the join page.

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.create_table(
        "roster_links",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("course_id", sa.String(length=36), nullable=False),
        sa.Column("person", sa.String(length=64), nullable=False),
        sa.Column("github_login", sa.String(), nullable=True),
        sa.Column("github_id", sa.String(length=32), nullable=True),
        sa.Column("github_verified_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("discord_id", sa.String(length=32), nullable=True),
        sa.Column("discord_joined_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["course_id"],
            ["courses.id"],
            name=op.f("fk_roster_links_course_id_courses"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_roster_links")),
        sa.UniqueConstraint("course_id", "person", name=op.f("uq_roster_links_course_id_person")),
        sa.UniqueConstraint(
            "course_id", "github_id", name=op.f("uq_roster_links_course_id_github_id")
        ),
        sa.UniqueConstraint(
            "course_id", "discord_id", name=op.f("uq_roster_links_course_id_discord_id")
        ),
    )


def downgrade() -> None:
    op.drop_table("roster_links")
