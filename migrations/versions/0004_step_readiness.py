"""Readiness as data: each step counts its unfinished dependencies, indexed for the claim.

A `step_dependencies` table (the plan's edges by id, indexed backwards), a
`steps.unfinished_deps` count kept by triggers, and the index a claim walks. Existing rows are
backfilled from `steps.depends_on`. And `courses.spec_digest`, so a claim need not read a big
course's spec again when it holds it (cleared by a trigger when the spec is changed by hand).

Triggers rather than application code keep the count, so every writer keeps it right: the
queue, a retry's bulk UPDATE, a course update, an operator's hand-made fix. They fire on a change
of a step's state to or from `succeeded` (its dependants' counts move by one) and on an added or
removed edge (the dependant's count moves by one if the dependency has not succeeded).

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

import sqlalchemy as sa
from alembic import context, op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | None = None
depends_on: str | None = None

_READY_INDEX = "ix_steps_ready"
_EDGE_INDEX = "ix_step_dependencies_depends_on_id"

# The edges of every stored step, from its JSON list of keys, per dialect.
_BACKFILL = {
    "sqlite": (
        "INSERT INTO step_dependencies (step_id, depends_on_id) "
        "SELECT DISTINCT s.id, d.id FROM steps AS s, json_each(s.depends_on) AS dep "
        "JOIN steps AS d ON d.course_id = s.course_id AND d.key = dep.value"
    ),
    "postgresql": (
        "INSERT INTO step_dependencies (step_id, depends_on_id) "
        "SELECT DISTINCT s.id, d.id FROM steps AS s "
        "CROSS JOIN LATERAL json_array_elements_text(s.depends_on) AS dep(key) "
        "JOIN steps AS d ON d.course_id = s.course_id AND d.key = dep.key"
    ),
}
_RECOUNT = (
    "UPDATE steps SET unfinished_deps = ("
    "SELECT count(*) FROM step_dependencies AS e JOIN steps AS d ON d.id = e.depends_on_id "
    "WHERE e.step_id = steps.id AND d.state <> 'succeeded')"
)
# Only `pending` steps with a time are walked by the claim's index in order; the claim also
# reads those without one, so none is lost, but there should be none.
_DUE_NOW = (
    "UPDATE steps SET next_attempt_at = updated_at "
    "WHERE state = 'pending' AND next_attempt_at IS NULL"
)

_SQLITE_TRIGGERS = (
    """
    CREATE TRIGGER steps_succeeded AFTER UPDATE OF state ON steps
    WHEN NEW.state = 'succeeded' AND OLD.state <> 'succeeded'
    BEGIN
        UPDATE steps SET unfinished_deps = unfinished_deps - 1
        WHERE id IN (SELECT step_id FROM step_dependencies WHERE depends_on_id = NEW.id);
    END
    """,
    """
    CREATE TRIGGER steps_unsucceeded AFTER UPDATE OF state ON steps
    WHEN OLD.state = 'succeeded' AND NEW.state <> 'succeeded'
    BEGIN
        UPDATE steps SET unfinished_deps = unfinished_deps + 1
        WHERE id IN (SELECT step_id FROM step_dependencies WHERE depends_on_id = NEW.id);
    END
    """,
    """
    CREATE TRIGGER step_dependencies_added AFTER INSERT ON step_dependencies
    BEGIN
        UPDATE steps SET unfinished_deps = unfinished_deps + 1
        WHERE id = NEW.step_id AND EXISTS (
            SELECT 1 FROM steps AS d WHERE d.id = NEW.depends_on_id AND d.state <> 'succeeded'
        );
    END
    """,
    """
    CREATE TRIGGER step_dependencies_removed AFTER DELETE ON step_dependencies
    BEGIN
        UPDATE steps SET unfinished_deps = unfinished_deps - 1
        WHERE id = OLD.step_id AND EXISTS (
            SELECT 1 FROM steps AS d WHERE d.id = OLD.depends_on_id AND d.state <> 'succeeded'
        );
    END
    """,
)
_SQLITE_DROP = (
    "DROP TRIGGER IF EXISTS courses_spec_changed",
    "DROP TRIGGER IF EXISTS steps_succeeded",
    "DROP TRIGGER IF EXISTS steps_unsucceeded",
    "DROP TRIGGER IF EXISTS step_dependencies_added",
    "DROP TRIGGER IF EXISTS step_dependencies_removed",
)

_POSTGRESQL_TRIGGERS = (
    """
    CREATE FUNCTION steps_count_dependants() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF (NEW.state = 'succeeded') IS DISTINCT FROM (OLD.state = 'succeeded') THEN
            -- Lock the dependants in id order first: two steps finishing at once, with
            -- dependants in common, then never wait for each other in a circle.
            PERFORM 1 FROM steps
            WHERE id IN (SELECT step_id FROM step_dependencies WHERE depends_on_id = NEW.id)
            ORDER BY id FOR UPDATE;
            UPDATE steps
            SET unfinished_deps = unfinished_deps
                + CASE WHEN NEW.state = 'succeeded' THEN -1 ELSE 1 END
            WHERE id IN (SELECT step_id FROM step_dependencies WHERE depends_on_id = NEW.id);
        END IF;
        RETURN NULL;
    END
    $$
    """,
    """
    CREATE TRIGGER steps_count_dependants AFTER UPDATE OF state ON steps
    FOR EACH ROW EXECUTE FUNCTION steps_count_dependants()
    """,
    """
    CREATE FUNCTION step_dependencies_count() RETURNS trigger LANGUAGE plpgsql AS $$
    DECLARE
        edge step_dependencies;
    BEGIN
        IF TG_OP = 'INSERT' THEN
            edge := NEW;
        ELSE
            edge := OLD;
        END IF;
        UPDATE steps
        SET unfinished_deps = unfinished_deps + CASE WHEN TG_OP = 'INSERT' THEN 1 ELSE -1 END
        WHERE id = edge.step_id AND EXISTS (
            SELECT 1 FROM steps AS d WHERE d.id = edge.depends_on_id AND d.state <> 'succeeded'
        );
        RETURN NULL;
    END
    $$
    """,
    """
    CREATE TRIGGER step_dependencies_count AFTER INSERT OR DELETE ON step_dependencies
    FOR EACH ROW EXECUTE FUNCTION step_dependencies_count()
    """,
)
_SQLITE_SPEC_TRIGGER = """
    CREATE TRIGGER courses_spec_changed AFTER UPDATE OF spec ON courses
    WHEN NEW.spec_digest IS OLD.spec_digest AND NEW.spec IS NOT OLD.spec
    BEGIN
        UPDATE courses SET spec_digest = NULL WHERE id = NEW.id;
    END
"""
_POSTGRESQL_SPEC_TRIGGER = (
    """
    CREATE FUNCTION courses_spec_changed() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF NEW.spec_digest IS NOT DISTINCT FROM OLD.spec_digest
           AND NEW.spec::text IS DISTINCT FROM OLD.spec::text THEN
            NEW.spec_digest := NULL;
        END IF;
        RETURN NEW;
    END
    $$
    """,
    """
    CREATE TRIGGER courses_spec_changed BEFORE UPDATE OF spec ON courses
    FOR EACH ROW EXECUTE FUNCTION courses_spec_changed()
    """,
)

_POSTGRESQL_DROP = (
    "DROP TRIGGER IF EXISTS courses_spec_changed ON courses",
    "DROP FUNCTION IF EXISTS courses_spec_changed()",
    "DROP TRIGGER IF EXISTS step_dependencies_count ON step_dependencies",
    "DROP FUNCTION IF EXISTS step_dependencies_count()",
    "DROP TRIGGER IF EXISTS steps_count_dependants ON steps",
    "DROP FUNCTION IF EXISTS steps_count_dependants()",
)


def _digest(spec: Any) -> str:
    """As `db.models.spec_digest` computes it (a copy: a migration must not change with the
    code), from the stored JSON."""
    value = json.loads(spec) if isinstance(spec, str) else spec
    canonical = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


def _backfill_spec_digests() -> None:
    bind = op.get_bind()
    courses = bind.execute(sa.text("SELECT id, spec FROM courses")).all()
    for course_id, spec in courses:
        bind.execute(
            sa.text("UPDATE courses SET spec_digest = :digest WHERE id = :id"),
            {"digest": _digest(spec), "id": course_id},
        )


def upgrade() -> None:
    dialect = op.get_bind().dialect.name
    with op.batch_alter_table("courses") as batch:
        batch.add_column(sa.Column("spec_digest", sa.String(length=64), nullable=True))
    if not context.is_offline_mode():
        _backfill_spec_digests()
    with op.batch_alter_table("steps") as batch:
        batch.add_column(
            sa.Column("unfinished_deps", sa.Integer(), nullable=False, server_default="0")
        )
    op.create_table(
        "step_dependencies",
        sa.Column("step_id", sa.Integer(), nullable=False),
        sa.Column("depends_on_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["step_id"],
            ["steps.id"],
            name=op.f("fk_step_dependencies_step_id_steps"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["depends_on_id"],
            ["steps.id"],
            name=op.f("fk_step_dependencies_depends_on_id_steps"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("step_id", "depends_on_id", name=op.f("pk_step_dependencies")),
    )
    op.create_index(_EDGE_INDEX, "step_dependencies", ["depends_on_id"])
    op.execute(_BACKFILL[dialect])
    op.execute(_RECOUNT)
    op.execute(_DUE_NOW)
    with op.batch_alter_table("steps") as batch:
        batch.create_index(
            _READY_INDEX, ["state", "unfinished_deps", "next_attempt_at", "position"]
        )
    # Last: a batch operation that rebuilt `steps` on SQLite would drop its triggers.
    if dialect == "sqlite":
        for statement in (*_SQLITE_TRIGGERS, _SQLITE_SPEC_TRIGGER):
            op.execute(statement)
    else:
        for statement in (*_POSTGRESQL_TRIGGERS, *_POSTGRESQL_SPEC_TRIGGER):
            op.execute(statement)


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    for statement in _SQLITE_DROP if dialect == "sqlite" else _POSTGRESQL_DROP:
        op.execute(statement)
    with op.batch_alter_table("steps") as batch:
        batch.drop_index(_READY_INDEX)
    op.drop_index(_EDGE_INDEX, table_name="step_dependencies")
    op.drop_table("step_dependencies")
    with op.batch_alter_table("steps") as batch:
        batch.drop_column("unfinished_deps")
    with op.batch_alter_table("courses") as batch:
        batch.drop_column("spec_digest")
