"""A step made ready notifies the runners of every process (PostgreSQL LISTEN/NOTIFY).

A transaction that makes a step ready (pending, every dependency succeeded: a course created,
updated or retried, a step handed back, a dependency's success) sends a notification on the
channel `steps_ready` with the step's platform as payload; it is delivered at commit, to every
connection listening (`db.ready_signal`), so a runner in another process claims the step at
once instead of at its next poll. The triggers send it: every writer of steps is covered, at
no extra round trip. PostgreSQL delivers one notification per distinct payload of a
transaction, so a course of 30,000 steps sends at most one per platform.

Only a change *to* ready notifies: a claim (pending to running), a lease renewal or a write to
a step that was ready already does not, so a runner woken by its own notification that finds
nothing sends none and waits. A ready step made due earlier (its backoff cut short) notifies
too, and so does a step put back to pending for a backoff (a runner then finds it not due yet:
one claim round, no more).

On SQLite nothing: one process per database file, woken in-process.

Revision ID: 0016
Revises: 0015
"""

from __future__ import annotations

from alembic import op

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | None = None
depends_on: str | None = None

# The channel, 'steps_ready', is `db.ready_signal.CHANNEL` (copied: a migration must not
# change with the code).
_POSTGRESQL = (
    """
    CREATE FUNCTION steps_notify_ready() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        PERFORM pg_notify('steps_ready', NEW.platform);
        RETURN NULL;
    END
    $$
    """,
    # Inserted steps, once per statement (a course's steps come in statements of a thousand
    # rows): one call reading the statement's rows, not one call per row. Measured on a
    # 30,000-step course: 9-12 ms of server time, against 42-54 ms for a row trigger.
    """
    CREATE FUNCTION steps_notify_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        PERFORM pg_notify('steps_ready', platform)
        FROM (
            SELECT DISTINCT platform FROM inserted
            WHERE state = 'pending' AND unfinished_deps = 0
        ) AS ready;
        RETURN NULL;
    END
    $$
    """,
    """
    CREATE TRIGGER steps_ready_inserted AFTER INSERT ON steps
    REFERENCING NEW TABLE AS inserted
    FOR EACH STATEMENT EXECUTE FUNCTION steps_notify_inserted()
    """,
    # Updated steps, per row: the WHEN clause is evaluated without calling the function, so
    # the updates that do not make a step ready (nearly all: claims, settles, counts still
    # above zero) cost next to nothing; lease renewals touch none of these columns.
    """
    CREATE TRIGGER steps_ready_updated
    AFTER UPDATE OF state, unfinished_deps, next_attempt_at ON steps
    FOR EACH ROW WHEN (
        NEW.state = 'pending' AND NEW.unfinished_deps = 0 AND (
            OLD.state <> 'pending'
            OR OLD.unfinished_deps <> 0
            OR NEW.next_attempt_at < OLD.next_attempt_at
            OR (NEW.next_attempt_at IS NULL AND OLD.next_attempt_at IS NOT NULL)
        )
    )
    EXECUTE FUNCTION steps_notify_ready()
    """,
)
_POSTGRESQL_DROP = (
    "DROP TRIGGER IF EXISTS steps_ready_updated ON steps",
    "DROP TRIGGER IF EXISTS steps_ready_inserted ON steps",
    "DROP FUNCTION IF EXISTS steps_notify_inserted()",
    "DROP FUNCTION IF EXISTS steps_notify_ready()",
)


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for statement in _POSTGRESQL:
        op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for statement in _POSTGRESQL_DROP:
        op.execute(statement)
