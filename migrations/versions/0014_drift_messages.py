"""Drift messages: the course log's message about a reconcile that repaired something, stored
with the report so a restart neither loses it nor posts it twice. A plain CREATE TABLE.

Revision ID: 0014
Revises: 0013
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | None = None
depends_on: str | None = None

_AUDIT_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "drift_messages",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("course_id", sa.String(length=36), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("started_id", _AUDIT_ID, nullable=False),
        sa.Column("reported_id", _AUDIT_ID, nullable=False),
        sa.Column("posted_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["course_id"],
            ["courses.id"],
            name=op.f("fk_drift_messages_course_id_courses"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_drift_messages")),
        sa.UniqueConstraint("reported_id", name=op.f("uq_drift_messages_reported_id")),
    )
    op.create_index(op.f("ix_drift_messages_posted_at"), "drift_messages", ["posted_at"])


def downgrade() -> None:
    op.drop_index(op.f("ix_drift_messages_posted_at"), table_name="drift_messages")
    op.drop_table("drift_messages")
