"""One Discord server per course and one course per server.

A partial unique index on the guild id of the bound `discord.server` steps.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import context, op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | None = None
depends_on: str | None = None

_INDEX = "uq_steps_discord_server_external_id"
_BOUND_SERVER = "key = 'discord.server' AND external_id IS NOT NULL"
_SHARED_SERVERS = (
    "SELECT external_id FROM steps WHERE key = 'discord.server' AND external_id IS NOT NULL "
    "GROUP BY external_id HAVING COUNT(*) > 1"
)


def upgrade() -> None:
    if not context.is_offline_mode():
        _refuse_shared_servers()
    with op.batch_alter_table("steps") as batch:
        batch.create_index(
            _INDEX,
            ["external_id"],
            unique=True,
            sqlite_where=sa.text(_BOUND_SERVER),
            postgresql_where=sa.text(_BOUND_SERVER),
        )


def _refuse_shared_servers() -> None:
    """Courses already sharing a server (claims that raced before this index) need a person."""
    shared = op.get_bind().execute(sa.text(_SHARED_SERVERS)).scalars().all()
    if shared:
        raise RuntimeError(
            "these Discord servers are bound to more than one course: "
            f"{', '.join(sorted(shared))}; keep one course per server (set the other courses' "
            "discord.server step back to awaiting a claim), then upgrade again"
        )


def downgrade() -> None:
    with op.batch_alter_table("steps") as batch:
        batch.drop_index(_INDEX)
