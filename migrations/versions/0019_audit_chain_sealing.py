"""Audit rows are sealed into the chain after they commit: `seq`, and hashes filled in later.

An append no longer takes the chain's lock (one INSERT in the writer's transaction); a sealer
(`db.audit_chain.seal`) later gives each committed row its place in the chain (`seq`) and its
`prev_hash`/`hash`. Until then those three are NULL: the hash columns become nullable (unique
still; NULLs do not collide), `seq` is unique, and a partial index finds the unsealed rows.

Every existing row was chained in id order, so its place is its id (`seq = id`): the chains
written before stay valid and verifiable.

The downgrade refuses while any row is unsealed (the old schema has no place for one): seal
first (`python -m bot audit verify` seals, then walks the chain). The old code walks the chain
in id order: rows sealed out of id order (one that committed after a later id) then read as a
broken link there, though no row was altered.

Revision ID: 0019
Revises: 0018
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0019"
down_revision: str | None = "0018"
branch_labels: str | None = None
depends_on: str | None = None

_UNSEALED = sa.text("seq IS NULL")


def upgrade() -> None:
    with op.batch_alter_table("audit_events") as batch:
        batch.add_column(sa.Column("seq", sa.BigInteger(), nullable=True))
        batch.alter_column("prev_hash", existing_type=sa.String(length=64), nullable=True)
        batch.alter_column("hash", existing_type=sa.String(length=64), nullable=True)
    op.execute("UPDATE audit_events SET seq = id")
    with op.batch_alter_table("audit_events") as batch:
        batch.create_unique_constraint(op.f("uq_audit_events_seq"), ["seq"])
    op.create_index(
        "ix_audit_events_unsealed",
        "audit_events",
        ["id"],
        sqlite_where=_UNSEALED,
        postgresql_where=_UNSEALED,
    )


def downgrade() -> None:
    unsealed = op.get_bind().scalar(sa.text("SELECT count(*) FROM audit_events WHERE seq IS NULL"))
    if unsealed:
        raise RuntimeError(
            f"{unsealed} audit rows are not sealed into the chain yet: run "
            "`python -m bot audit verify` (it seals them), then downgrade again"
        )
    op.drop_index("ix_audit_events_unsealed", table_name="audit_events")
    with op.batch_alter_table("audit_events") as batch:
        batch.drop_constraint(op.f("uq_audit_events_seq"), type_="unique")
        batch.drop_column("seq")
        batch.alter_column("hash", existing_type=sa.String(length=64), nullable=False)
        batch.alter_column("prev_hash", existing_type=sa.String(length=64), nullable=False)
