"""Indexes that keep a course's status cheap whatever its size.

`ix_steps_course_status` covers the status summary (counts per state and kind, and the latest
change, of one course) so it reads the index alone; `ix_steps_course_position` serves a page of
steps in plan order without sorting the course. Plain CREATE INDEX on both databases: no batch
rebuild of `steps`, whose triggers (0004) a rebuild would drop.

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.create_index("ix_steps_course_status", "steps", ["course_id", "state", "kind", "updated_at"])
    op.create_index("ix_steps_course_position", "steps", ["course_id", "position"])


def downgrade() -> None:
    op.drop_index("ix_steps_course_position", table_name="steps")
    op.drop_index("ix_steps_course_status", table_name="steps")
