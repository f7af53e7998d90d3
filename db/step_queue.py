"""The step queue: claiming due steps under a lease, and recording what became of them.

PostgreSQL hands out steps with `FOR UPDATE SKIP LOCKED`, so runner processes never claim the
same step; SQLite has one writer, and one runner process per SQLite file. A claim is a lease:
a runner that dies leaves a `running` step whose lease expires, and the next claim takes it.
Every state change of a step writes an audit event in the same transaction.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, NamedTuple

from sqlalchemy import TextClause, and_, or_, select, text, tuple_, update
from sqlalchemy.ext.asyncio import AsyncSession

from db import audit_chain
from db.models import Course, Step


class Produced(NamedTuple):
    """What a succeeded step stored: its external id and facts."""

    external_id: str | None
    facts: dict[str, Any]


@dataclass(frozen=True)
class ClaimedStep:
    """A step this runner holds a lease on, with what its executor needs from the database.

    Plain data (`db` knows nothing of the domain's types): the course's spec as stored, and what
    each dependency produced, by step key.
    """

    id: int
    course_id: str
    key: str
    kind: str
    depends_on: tuple[str, ...]
    params: dict[str, Any]
    attempt: int
    external_id: str | None
    facts: dict[str, Any]
    spec: dict[str, Any]
    dependencies: dict[str, Produced]


async def claim(
    session: AsyncSession, *, owner: str, now: datetime, lease: timedelta, limit: int
) -> list[ClaimedStep]:
    """Lease up to `limit` steps that are due and whose dependencies all succeeded, each with
    its course's spec and its dependencies' results, read in this same transaction."""
    dialect = session.get_bind().dialect.name
    if dialect == "sqlite":
        # SQLite ignores FOR UPDATE and its driver begins transactions lazily, so two claimers
        # could read the same candidates. A no-op write takes the database's write lock first:
        # claimers, in this process or another, then take turns.
        await session.execute(text("UPDATE steps SET id = id WHERE 1 = 0"))
    due = or_(
        and_(
            Step.state == "pending",
            or_(Step.next_attempt_at.is_(None), Step.next_attempt_at <= now),
        ),
        and_(Step.state == "running", Step.lease_expires_at < now),
    )
    steps = (
        await session.scalars(
            select(Step)
            .where(due, _dependencies_succeeded(dialect))
            .order_by(Step.next_attempt_at, Step.position)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
    ).all()
    for step in steps:
        previous = step.state
        step.state = "running"
        step.attempts += 1
        step.lease_owner = owner
        step.lease_expires_at = now + lease
        step.updated_at = now
        await _event(session, step, now, owner, "step.started", {"from": previous})
    if not steps:
        return []
    specs = await _specs(session, {step.course_id for step in steps})
    produced = await _produced(
        session, {(step.course_id, key) for step in steps for key in step.depends_on}
    )
    return [
        ClaimedStep(
            id=step.id,
            course_id=step.course_id,
            key=step.key,
            kind=step.kind,
            depends_on=tuple(step.depends_on),
            params=dict(step.params),
            attempt=step.attempts,
            external_id=step.external_id,
            facts=dict(step.facts or {}),
            spec=specs[step.course_id],
            dependencies={
                key: produced[(step.course_id, key)]
                for key in step.depends_on
                if (step.course_id, key) in produced
            },
        )
        for step in steps
    ]


async def _specs(session: AsyncSession, course_ids: Iterable[str]) -> dict[str, dict[str, Any]]:
    """The stored spec of each course, in one query. Read at every claim, never cached: a
    roster change must reach the next step at once."""
    rows = await session.execute(
        select(Course.id, Course.spec).where(Course.id.in_(sorted(course_ids)))
    )
    return dict(rows.all())


async def _produced(
    session: AsyncSession, keys: Iterable[tuple[str, str]]
) -> dict[tuple[str, str], Produced]:
    """What the named steps produced, by (course id, step key), in one query for all of them."""
    wanted = sorted(keys)
    if not wanted:
        return {}
    rows = await session.execute(
        select(Step.course_id, Step.key, Step.external_id, Step.facts).where(
            tuple_(Step.course_id, Step.key).in_(wanted)
        )
    )
    return {
        (course_id, key): Produced(external_id, dict(facts or {}))
        for course_id, key, external_id, facts in rows
    }


# "No dependency of the step is unfinished", per dialect (JSON array functions differ).
_READY_SQL = {
    "postgresql": (
        "NOT EXISTS (SELECT 1 FROM json_array_elements_text(steps.depends_on) AS dep(key) "
        "JOIN steps AS d ON d.course_id = steps.course_id AND d.key = dep.key "
        "WHERE d.state <> 'succeeded')"
    ),
    "sqlite": (
        "NOT EXISTS (SELECT 1 FROM json_each(steps.depends_on) AS dep "
        "JOIN steps AS d ON d.course_id = steps.course_id AND d.key = dep.value "
        "WHERE d.state <> 'succeeded')"
    ),
}


def _dependencies_succeeded(dialect: str) -> TextClause:
    """Readiness checked in SQL: filtering in Python after a LIMIT would let a crowd of
    waiting steps hide the ready ones behind them. The unique index on (course_id, key) makes
    each lookup an index probe."""
    return text(_READY_SQL[dialect])


async def renew(session: AsyncSession, step_id: int, owner: str, until: datetime) -> bool:
    """Extend our lease; False when it is no longer ours (expired and taken by another)."""
    result = await session.execute(
        update(Step)
        .where(Step.id == step_id, Step.lease_owner == owner, Step.state == "running")
        .values(lease_expires_at=until)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


async def hand_back(
    session: AsyncSession, step_ids: Sequence[int], owner: str, now: datetime
) -> list[str]:
    """Steps this runner started but stops before finishing (it is shutting down): pending
    again and due now, their attempt not counted, so the next runner (or the next start)
    takes them at once instead of waiting for their leases to expire. Their keys."""
    if not step_ids:
        return []
    steps = (
        await session.scalars(
            select(Step).where(
                Step.id.in_(sorted(step_ids)), Step.lease_owner == owner, Step.state == "running"
            )
        )
    ).all()
    for step in steps:
        step.state = "pending"
        step.attempts = max(0, step.attempts - 1)
        step.lease_owner = None
        step.lease_expires_at = None
        step.next_attempt_at = now
        step.updated_at = now
        await _event(session, step, now, owner, "step.handed_back", {})
    return [step.key for step in steps]


async def _owned(session: AsyncSession, step_id: int, owner: str) -> Step | None:
    step = await session.get(Step, step_id, with_for_update=True)
    if step is None or step.lease_owner != owner or step.state != "running":
        return None  # our lease expired and another runner took over: its word counts
    return step


async def succeed(
    session: AsyncSession,
    step_id: int,
    owner: str,
    now: datetime,
    external_id: str,
    facts: dict[str, Any],
) -> bool:
    """Mark the step done and store what it produced, in the caller's transaction."""
    step = await _owned(session, step_id, owner)
    if step is None:
        return False
    step.state = "succeeded"
    step.external_id = external_id
    step.facts = facts
    step.last_error = step.last_error_code = step.action_hint = None
    _release(step, now)
    await _event(session, step, now, owner, "step.succeeded", {"external_id": external_id})
    return True


async def settle_error(
    session: AsyncSession,
    step_id: int,
    owner: str,
    now: datetime,
    *,
    state: str,
    message: str,
    code: str,
    hint: str | None,
    next_attempt_at: datetime | None,
) -> bool:
    """Record a failed attempt: back to pending, waiting for a person, or failed for good."""
    step = await _owned(session, step_id, owner)
    if step is None:
        return False
    step.state = state
    step.last_error = message[:2000]
    step.last_error_code = code
    step.action_hint = hint
    step.next_attempt_at = next_attempt_at
    _release(step, now)
    await _event(session, step, now, owner, f"step.{state}", {"code": code})
    if state == "failed":
        await _block_dependants(session, step, now, owner)
    return True


def _release(step: Step, now: datetime) -> None:
    step.lease_owner = None
    step.lease_expires_at = None
    step.updated_at = now


async def _block_dependants(session: AsyncSession, failed: Step, now: datetime, owner: str) -> None:
    steps = (await session.scalars(select(Step).where(Step.course_id == failed.course_id))).all()
    blocked = {failed.key}
    changed = True
    while changed:  # the transitive closure: a plan is small and acyclic
        changed = False
        for step in steps:
            if step.key not in blocked and blocked & set(step.depends_on):
                blocked.add(step.key)
                changed = True
                if step.state in ("pending", "awaiting_action"):
                    step.state = "blocked"
                    step.last_error = f"waits for {failed.key}, which failed"
                    step.updated_at = now
                    await _event(session, step, now, owner, "step.blocked", {"by": failed.key})


async def _event(
    session: AsyncSession,
    step: Step,
    now: datetime,
    actor: str,
    event: str,
    summary: dict[str, Any],
) -> None:
    await audit_chain.append_event(
        session,
        at=now,
        actor=actor,
        event=event,
        course_id=step.course_id,
        step_key=step.key,
        attempt=step.attempts,
        summary=summary,
    )


def keys_of(steps: Sequence[ClaimedStep]) -> list[str]:
    """Step keys, for logs."""
    return [s.key for s in steps]
