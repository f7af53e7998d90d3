"""Drift in the status: a course's last event of a kind is found by an index.

`ix_audit_events_course_id_event_id`: the status summary reads a course's last reconcile (its
started and reported audit events) on every poll; without it that is a walk back through all of
the course's audit rows. A plain CREATE INDEX on both databases.

Revision ID: 0012
Revises: 0011
"""

from __future__ import annotations

from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.create_index(
        "ix_audit_events_course_id_event_id",
        "audit_events",
        ["course_id", "event", "id"],
    )


def downgrade() -> None:
    op.drop_index("ix_audit_events_course_id_event_id", table_name="audit_events")
