"""`steps.claim_rank` counts milliseconds, not seconds.

A rank is the course's creation plus one second per step of the step's platform it had left
(`db.step_queue.rank_steps`). In whole seconds, the courses of a batch created together tied
whenever their work was alike, and a tie is broken by plan position: the runners then advanced
all of them a position at a time and each was done only when all were. In milliseconds the
older course goes first. Existing ranks are scaled by 1000, so their order among themselves
and against new ones is kept; a rank of 0 (a step written before ranks) stays 0.

Revision ID: 0020
Revises: 0019
"""

from __future__ import annotations

from alembic import op

revision: str = "0020"
down_revision: str | None = "0019"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.execute("UPDATE steps SET claim_rank = claim_rank * 1000 WHERE claim_rank <> 0")


def downgrade() -> None:
    op.execute("UPDATE steps SET claim_rank = claim_rank / 1000 WHERE claim_rank <> 0")
