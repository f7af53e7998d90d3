"""Steps carry a claim lane and rank: each credential's ready steps, shortest course first.

`steps.lane`: the credential a step's calls are paced on (`discord`, `email`, `github:<org>`);
a runner keeps so many steps of each lane running, so a step waiting for one organization's
write pace never holds a slot another organization's step could use. `steps.claim_rank`: the
course's creation in epoch seconds plus one per step it had left when the step was planned;
a lane's ready steps are claimed lowest rank first. Both set by
`db.step_queue.link_dependencies`. `ix_steps_lane_ready` (platform, state, unfinished_deps,
lane, claim_rank, position): the lanes with ready steps, and each lane's in claim order, are
index walks. Steps that exist already are in lane '' with rank 0: the oldest work, one lane
per platform, in plan position order as before.

It replaces `ix_steps_platform_ready` (platform, state, unfinished_deps, position), which no
claim walks any more: kept, it was a prefix of the new one that PostgreSQL's planner, without
statistics on fresh rows, took for the lanes' walk and then sorted every ready row.

Plain ADD COLUMN / CREATE INDEX / DROP INDEX, no batch rebuild (SQLite adds a column with a
constant default in place).

Revision ID: 0018
Revises: 0017
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0018"
down_revision: str | None = "0017"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.add_column(
        "steps", sa.Column("lane", sa.String(length=120), server_default="", nullable=False)
    )
    op.add_column(
        "steps",
        sa.Column("claim_rank", sa.BigInteger(), server_default=sa.text("0"), nullable=False),
    )
    op.create_index(
        "ix_steps_lane_ready",
        "steps",
        ["platform", "state", "unfinished_deps", "lane", "claim_rank", "position"],
    )
    op.drop_index("ix_steps_platform_ready", table_name="steps")


def downgrade() -> None:
    op.create_index(
        "ix_steps_platform_ready", "steps", ["platform", "state", "unfinished_deps", "position"]
    )
    op.drop_index("ix_steps_lane_ready", table_name="steps")
    # A plain DROP COLUMN on both (SQLite since 3.35): a batch rebuild of `steps` on SQLite
    # would drop the readiness triggers of migration 0004 with the old table.
    op.execute("ALTER TABLE steps DROP COLUMN claim_rank")
    op.execute("ALTER TABLE steps DROP COLUMN lane")
