"""Changing a stored course: re-plan from the new description and apply only the difference.

Steps are matched by key (DESIGN.md §2.6, §4). A new key is new work; a key whose params or
dependencies changed is done again (an executor verifies and repairs what its external id names,
so a finished step is re-checked, not re-created); a key the new plan lacks is dropped when it
never ran, and otherwise retired (`provisioning.courses.retire`): it becomes a removal step
(membership ended, repository archived, channel hidden, invite revoked), never a deletion of
anything people made. The fields that name the course's GitHub resources (code, term,
organization) may change only while nothing exists there yet.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, Protocol, TypeVarTuple

from sqlalchemy import Row, Select, Text, cast, delete, func, insert, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from db import audit_chain, step_queue
from db.models import Course, LabGroup, Member, Step, spec_digest
from provisioning.courses.changes import StepsRunningError
from provisioning.courses.retire import RETIRED_KINDS, Retirement, retirement, touched
from provisioning.courses.spec import CourseSpec
from provisioning.errors import (
    CourseConflictError,
    CourseNotFoundError,
    CourseValidationError,
    FieldProblem,
)
from provisioning.plan import PlannedStep, plan_digest

# A change is the fix for a step that failed or waits for a person: it gets a fresh start.
_RESTART_STATES = frozenset({"succeeded", "failed", "blocked", "awaiting_action"})
_AUDIT_KEYS_MAX = 50
_Ts = TypeVarTuple("_Ts")
# Rows of a big course read per round trip before a change (see `_in_parts`).
_PART_ROWS = 1000
# These name the course's GitHub resources (repository and team names, the org they live in):
# once one exists, a different value would be a different course, not a change of this one.
# Discord names follow by themselves (their steps rename), so only GitHub holds them fixed.
_FIXED_FIELDS = {
    "code": "it is part of every repository and team name",
    "term": "it is part of every repository and team name",
    "github_org": "the course's repositories and teams live in it",
}


@dataclass(frozen=True)
class AppliedChange:
    """The step keys an update added, changed, removed, and unblocked (in plan order).

    ``removed`` are the keys the new plan lacks; ``retired`` the part of them that became
    removal steps (pending), the rest were dropped, having never run.
    """

    added: list[str]
    changed: list[str]
    removed: list[str]
    unblocked: list[str]
    retired: list[str]
    # The `course.updated` audit event, for the caller to append last (`apply_update`).
    event: audit_chain.AuditEntry | None = None

    @property
    def any(self) -> bool:
        return bool(self.added or self.changed or self.removed or self.unblocked)


NO_CHANGE = AppliedChange([], [], [], [], [])


def member_rows(course_id: str, spec: CourseSpec) -> list[dict[str, Any]]:
    """The Member rows of a description, staff first, then students, as values for one bulk
    INSERT: 10,000 ORM objects cost seconds of the write lock, these a fraction of that."""
    staff = [
        {
            "course_id": course_id,
            "role": m.role,
            "name": m.name,
            "email": m.email,
            "github": m.github,
            "github_lower": m.github.lower(),
            "discord_id": m.discord_id,
            "group": None,
        }
        for m in spec.staff
    ]
    students = [
        {
            "course_id": course_id,
            "role": "student",
            "name": s.name,
            "email": s.email,
            "github": s.github,
            "github_lower": s.github.lower(),
            "discord_id": s.discord_id,
            "group": s.group,
        }
        for s in spec.students
    ]
    return staff + students


async def add_members(session: AsyncSession, course_id: str, spec: CourseSpec) -> None:
    """Insert the course's members (`member_rows`) at once."""
    await session.execute(insert(Member), member_rows(course_id, spec))


def step_rows(
    course_id: str, steps: Iterable[PlannedStep], now: datetime, start: int = 0
) -> list[Step]:
    """New pending Step rows, due now, numbered from ``start`` in plan order."""
    return [
        Step(
            course_id=course_id,
            position=start + offset,
            key=step.key,
            kind=step.kind,
            depends_on=list(step.depends_on),
            params=step.params,
            state="pending",
            attempts=0,
            next_attempt_at=now,
            updated_at=now,
        )
        for offset, step in enumerate(steps)
    ]


async def lock_course(session: AsyncSession, course_id: str) -> Course:
    """The course row, locked until the transaction ends (PostgreSQL: FOR UPDATE).

    SQLite ignores FOR UPDATE and begins lazily: a no-op write takes its one write lock first,
    so a reader that later writes can never lose the race halfway through.
    """
    if session.get_bind().dialect.name == "sqlite":
        await session.execute(text("UPDATE courses SET id = id WHERE 1 = 0"))
    row = await session.get(Course, course_id, with_for_update=True)
    if row is None:
        raise CourseNotFoundError(course_id)
    return row


def made_something(row: Step) -> bool:
    """Whether the step's resource exists: it holds an id, succeeded, or is running now. A
    step that failed (an organization that does not exist) made nothing."""
    return row.external_id is not None or row.state in ("succeeded", "running")


def _fixed_field_problems(course: Course, spec: CourseSpec, rows: list[Step]) -> list[FieldProblem]:
    """A field naming GitHub resources may change while none exists (a mistyped organization
    is fixed before a repository could be made in it); after that, it is refused."""
    changed = [name for name in _FIXED_FIELDS if getattr(course, name) != getattr(spec, name)]
    made = [r.key for r in rows if r.kind.startswith("github.") and made_something(r)]
    if not changed or not made:
        return []
    shown = ", ".join(made[:3]) + (f" and {len(made) - 3} more" if len(made) > 3 else "")
    return [
        FieldProblem(
            name,
            f"cannot change from {getattr(course, name)!r} to {getattr(spec, name)!r}: "
            f"{_FIXED_FIELDS[name]}, and GitHub has the course's resources already ({shown}); "
            f"keep {getattr(course, name)!r}, or archive this course and create a new one",
        )
        for name in changed
    ]


async def _raise_if_taken(session: AsyncSession, course: Course, spec: CourseSpec) -> None:
    if (course.code, course.term) == (spec.code, spec.term):
        return
    other = await session.scalar(
        select(Course.id).where(
            Course.code == spec.code, Course.term == spec.term, Course.id != course.id
        )
    )
    if other is not None:
        raise CourseConflictError(other, spec.code, spec.term)


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


class _PlanContent(Protocol):
    """What a plan says of a stored step: a Step, or a row of its columns."""

    @property
    def kind(self) -> str: ...

    @property
    def depends_on(self) -> list[str]: ...

    @property
    def params(self) -> dict[str, Any]: ...


def _differs(row: _PlanContent, planned: PlannedStep) -> bool:
    # Stored JSON comes back with lists for tuples: compare canonical forms, not Python objects.
    return (
        row.kind != planned.kind
        or list(row.depends_on) != list(planned.depends_on)
        or _canonical(row.params) != _canonical(planned.params)
    )


def _restart(row: Step, now: datetime) -> None:
    row.state = "pending"
    row.attempts = 0
    row.next_attempt_at = now
    row.lease_owner = row.lease_expires_at = None
    # The old error was about the old parameters; keeping it would mislead whoever reads it.
    row.last_error = row.last_error_code = row.action_hint = None
    row.updated_at = now


def _failed_roots(rows: Iterable[Step]) -> dict[str, str]:
    """Each step that waits (transitively) on a failed step, mapped to one such failed step."""
    steps = list(rows)
    root = {s.key: s.key for s in steps if s.state == "failed"}
    changed = True
    while changed:  # the transitive closure: a plan is small and acyclic
        changed = False
        for step in steps:
            if step.key in root:
                continue
            failed_dep = next((d for d in step.depends_on if d in root), None)
            if failed_dep is not None:
                root[step.key] = root[failed_dep]
                changed = True
    return {key: by for key, by in root.items() if key != by}


@dataclass(frozen=True)
class PlanDiff:
    """How a course's stored steps differ from a new plan; computed without writing."""

    rows: list[Step]
    added: list[PlannedStep]
    changed: list[PlannedStep]
    # Stored steps the new plan lacks (removal steps of earlier changes excepted).
    removed: list[Step]
    # Of those, the ones that may have made something, with the removal step each becomes.
    retiring: dict[str, Retirement]

    @property
    def stored(self) -> dict[str, Step]:
        return {row.key: row for row in self.rows}


@dataclass(frozen=True)
class KnownPlan:
    """The difference to a new plan by content (keys, kinds, dependencies, params), read
    before the update takes the lock: content changes only with the course's plan, so while
    the course's digests are these, it holds, and the locked part reads only the rows it
    changes instead of every step of the course (30,000 for 10,000 students)."""

    spec_digest: str
    plan_digest: str
    old_spec: CourseSpec
    new_spec: dict[str, Any]
    new_plan_digest: str
    added: list[PlannedStep]
    changed: list[str]
    # Keys the new plan lacks (removal steps of earlier changes excepted), in plan order.
    removed: list[str]
    # Rows a removal step names (its team, its role): `retirement` reads their results.
    referenced: set[str]
    # Planned steps whose dependency rows must be (re)made: added, changed, and those that
    # name an added key.
    relink: set[str]
    max_position: int
    # The member rows the new description lacks (ids) and adds (values), and the lab groups:
    # the update replaces only those that differ.
    members_gone: list[int]
    members_added: list[dict[str, Any]]
    groups_gone: list[str]
    groups_added: list[str]

    def holds_for(self, course: Course) -> bool:
        return (course.spec_digest, course.plan_digest) == (self.spec_digest, self.plan_digest)


_MEMBER_FIELDS = ("role", "name", "email", "github", "github_lower", "discord_id", "group")


def _member_key(row: dict[str, Any]) -> tuple[Any, ...]:
    return tuple(row[name] for name in _MEMBER_FIELDS)


async def read_plan(
    session: AsyncSession, course_id: str, spec: CourseSpec, planned: list[PlannedStep]
) -> KnownPlan | None:
    """The `KnownPlan` of changing the course to `spec`, read without locking anything; None
    when only the full, locked comparison can tell (no such course, a spec edited by hand, or
    a field naming GitHub resources changed)."""
    course = await session.get(Course, course_id)
    if course is None or course.spec_digest is None:
        return None
    if any(getattr(course, name) != getattr(spec, name) for name in _FIXED_FIELDS):
        return None
    # The JSON columns as text, decoded in the thread below: decoding 60,000 values here
    # would hold the event loop for seconds (and with it, on SQLite, the write lock of any
    # transaction of this process waiting to go on).
    rows = await _in_parts(
        session,
        select(
            Step.key,
            Step.kind,
            cast(Step.depends_on, Text),
            cast(Step.params, Text),
            Step.position,
        )
        .where(Step.course_id == course_id)
        .order_by(Step.position),
    )
    members = await _in_parts(
        session,
        select(Member.id, *(getattr(Member, name) for name in _MEMBER_FIELDS)).where(
            Member.course_id == course_id
        ),
    )
    # Seconds of plain Python for a big course: in a thread, so the event loop (the runner's
    # lease renewals, the web server) keeps turning meanwhile.
    return await asyncio.to_thread(
        _known_plan,
        course_id,
        course.spec_digest,
        course.plan_digest,
        course.spec,
        spec,
        planned,
        rows,
        members,
    )


async def _in_parts(session: AsyncSession, query: Select[*_Ts]) -> list[Row[*_Ts]]:
    """Every row of `query`, received `_PART_ROWS` at a time. Received at once, the 30,000
    steps of a big course are decoded and wrapped in one go (a few hundred milliseconds at a
    busy moment) in which the event loop, and every claim and lease renewal on it, stops; a
    part is a few milliseconds, and the loop turns between parts."""
    result = await session.stream(query.execution_options(yield_per=_PART_ROWS))
    rows: list[Row[*_Ts]] = []
    async for part in result.partitions():
        rows.extend(part)
    return rows


@dataclass(frozen=True)
class _StoredPlan:
    """What the plan says of a stored step, as `read_plan` compares it."""

    key: str
    kind: str
    depends_on: list[str]
    params: dict[str, Any]
    position: int


def _known_plan(
    course_id: str,
    stored_spec_digest: str,
    stored_plan_digest: str,
    stored_spec: dict[str, Any],
    spec: CourseSpec,
    planned: list[PlannedStep],
    raw: Sequence[Row[str, str, str, str, int]],
    members: Sequence[Row[Any]],
) -> KnownPlan:
    rows = [
        _StoredPlan(key, kind, json.loads(depends_on), json.loads(params), position)
        for key, kind, depends_on, params, position in raw
    ]
    stored = {row.key: row for row in rows}
    wanted = {step.key for step in planned}
    added = [p for p in planned if p.key not in stored]
    changed = [p.key for p in planned if p.key in stored and _differs(stored[p.key], p)]
    removed = [r for r in rows if r.key not in wanted and r.kind not in RETIRED_KINDS]
    new_keys = {p.key for p in added}
    relink = new_keys | set(changed)
    relink |= {p.key for p in planned if not new_keys.isdisjoint(p.depends_on)}
    stored_members: dict[tuple[Any, ...], list[int]] = {}
    for member in members:
        stored_members.setdefault(tuple(member[1:]), []).append(member[0])
    members_added = []
    for values in member_rows(course_id, spec):
        ids = stored_members.get(_member_key(values))
        if ids:
            ids.pop()
        else:
            members_added.append(values)
    old_spec = CourseSpec.model_validate(stored_spec)
    return KnownPlan(
        spec_digest=stored_spec_digest,
        plan_digest=stored_plan_digest,
        old_spec=old_spec,
        new_spec=spec.model_dump(mode="json"),
        new_plan_digest=plan_digest(planned),
        added=added,
        changed=changed,
        removed=[r.key for r in removed],
        referenced={
            str(r.params[name]) for r in removed for name in ("team", "role") if name in r.params
        },
        relink=relink,
        max_position=max((r.position for r in rows), default=-1),
        members_gone=sorted(i for ids in stored_members.values() for i in ids),
        members_added=members_added,
        groups_gone=sorted(set(old_spec.groups) - set(spec.groups)),
        groups_added=[g for g in spec.groups if g not in old_spec.groups],
    )


async def _locked_rows(session: AsyncSession, course_id: str, known: KnownPlan) -> list[Step]:
    """The rows a known difference changes or reads, and the blocked ones (an update may
    unblock them), locked, in plan order."""
    keys = sorted({*known.changed, *known.removed, *known.referenced})
    rows: dict[int, Step] = {}
    for part in step_queue.chunks(keys):
        query = select(Step).where(Step.course_id == course_id, Step.key.in_(part))
        rows.update((r.id, r) for r in await session.scalars(query.with_for_update()))
    blocked = select(Step).where(Step.course_id == course_id, Step.state == "blocked")
    rows.update((r.id, r) for r in await session.scalars(blocked.with_for_update()))
    return sorted(rows.values(), key=lambda row: row.position)


async def _any_failed(session: AsyncSession, course_id: str) -> bool:
    found = await session.scalar(
        select(Step.id).where(Step.course_id == course_id, Step.state == "failed").limit(1)
    )
    return found is not None


async def diff_plan(
    session: AsyncSession,
    course: Course,
    spec: CourseSpec,
    planned: list[PlannedStep],
    *,
    lock: bool = True,
    leave_org: bool = True,
    known: KnownPlan | None = None,
) -> PlanDiff:
    """Compare the course's rows with `spec`'s plan; raises what `apply_update` would refuse
    (`CourseValidationError`, `CourseConflictError`, `StepsRunningError`). `lock`: the rows
    stay locked until the transaction ends (an update); a preview only reads. With a `known`
    difference (which must hold for the course), only the rows it touches are read: then
    `rows` holds those and the blocked ones, not every step."""
    if known is not None:
        rows = await _locked_rows(session, course.id, known)
        stored = {row.key: row for row in rows}
        removed = [stored[key] for key in known.removed]
        changing = set(known.changed)
        changed = [p for p in planned if p.key in changing]
    else:
        query = select(Step).where(Step.course_id == course.id).order_by(Step.position)
        if lock:
            query = query.with_for_update()
        rows = list((await session.scalars(query)).all())
        problems = _fixed_field_problems(course, spec, rows)
        if problems:
            raise CourseValidationError(problems)
        stored = {row.key: row for row in rows}
        wanted = {step.key for step in planned}
        # Removal steps from earlier changes stay as they are until their key is planned again.
        removed = [r for r in rows if r.key not in wanted and r.kind not in RETIRED_KINDS]
        changed = [p for p in planned if p.key in stored and _differs(stored[p.key], p)]
    await _raise_if_taken(session, course, spec)
    touched_keys = [*(r.key for r in removed), *(p.key for p in changed)]
    # A running step would settle with the parameters it was claimed with, or for a step no
    # longer planned: refuse rather than lose the change or orphan what it creates.
    running = [key for key in touched_keys if stored[key].state == "running"]
    if running:
        raise StepsRunningError(course.id, running)
    leaving = await _leaving_org(session, course, spec, removed) if leave_org else set()

    def leaves(login: str) -> bool:
        return login.lower() in leaving

    retiring = {
        row.key: r
        for row in removed
        if touched(row) and (r := retirement(row, stored, leaves)) is not None
    }
    added = known.added if known is not None else [p for p in planned if p.key not in stored]
    return PlanDiff(rows, added, changed, removed, retiring)


async def _leaving_org(
    session: AsyncSession, course: Course, spec: CourseSpec, removed: list[Step]
) -> set[str]:
    """Logins (lower case) of people leaving this course's teams who stay in none of its teams
    and are listed by no other course of its organization: they may leave the organization."""
    staying = {m.github.lower() for m in spec.staff} | {s.github.lower() for s in spec.students}
    gone = {str(r.params["login"]).lower() for r in removed if r.kind == "github.invite"} - staying
    if not gone:
        return set()
    elsewhere = await session.scalars(
        select(Member.github_lower)
        .join(Course, Course.id == Member.course_id)
        .where(
            Member.course_id != course.id,
            func.lower(Course.github_org) == spec.github_org.lower(),
            Member.github_lower.in_(sorted(gone)),
        )
    )
    return gone - set(elsewhere.all())


async def apply_update(
    session: AsyncSession,
    course: Course,
    spec: CourseSpec,
    planned: list[PlannedStep],
    *,
    actor: str,
    now: datetime,
    check: Callable[[PlanDiff], None] = lambda _: None,
    leave_org: bool = True,
    known: KnownPlan | None = None,
) -> AppliedChange:
    """Bring the locked course's rows to `spec` and its plan, in the caller's transaction.

    The result carries the change's audit event, not yet appended: the caller appends it as
    the transaction's last write (`audit_chain.append_many`), because the chain's lock is held
    from the append to the commit and every claim and step result of every runner waits for
    it; whatever the caller still does in the transaction (the status it answers, its
    `within`) must not happen under that lock.

    `check` sees the difference before anything is written and may refuse it (the safety
    limit on removals). Raises before writing anything: `CourseValidationError` (code, term
    or organization changed after GitHub resources exist), `CourseConflictError` (the new
    code and term are another course's), `StepsRunningError`, or what `check` raises.
    """
    new_spec = known.new_spec if known is not None else spec.model_dump(mode="json")
    if known is not None and not known.holds_for(course):
        known = None  # another update came first: compare everything, under the lock
    if known is not None and await _any_failed(session, course.id):
        known = None  # what a failure blocks is found by walking every step
    new_digest = known.new_plan_digest if known is not None else plan_digest(planned)
    if new_digest == course.plan_digest and (
        spec_digest(new_spec) == course.spec_digest
        if course.spec_digest is not None
        else new_spec == course.spec
    ):
        return NO_CHANGE
    diff = await diff_plan(session, course, spec, planned, leave_org=leave_org, known=known)
    check(diff)
    rows, stored, retiring = diff.rows, diff.stored, diff.retiring
    wanted = {step.key for step in planned}
    dropped = [row for row in diff.removed if row.key not in retiring]
    await step_queue.unlink_steps(session, [row.id for row in dropped])
    for row in dropped:
        await session.delete(row)
    for key, removal in retiring.items():
        row = stored[key]
        row.kind, row.params = removal.kind, removal.params
        row.depends_on = list(removal.depends_on)
        _restart(row, now)
    for step in diff.changed:
        row = stored[step.key]
        row.kind, row.depends_on, row.params = step.kind, list(step.depends_on), step.params
        row.updated_at = now
        if row.state in _RESTART_STATES:
            _restart(row, now)
    last = known.max_position if known is not None else max((r.position for r in rows), default=-1)
    new_rows = step_rows(course.id, diff.added, now, start=last + 1)
    session.add_all(new_rows)
    kept = [r for r in rows if r.key in wanted or r.kind in RETIRED_KINDS]
    touched_now = {p.key for p in [*diff.changed, *diff.added]} | set(retiring)
    unblocked = _rebalance_blocked([*kept, *new_rows], touched_now, now)
    if known is not None:
        await _change_people(session, course, known)
    else:
        await _replace_people(session, course, spec)
    course.code, course.term, course.github_org = spec.code, spec.term, spec.github_org
    course.title, course.kind = spec.title, spec.kind
    course.spec = new_spec
    course.plan_digest = new_digest
    result = AppliedChange(
        added=[p.key for p in diff.added],
        changed=[p.key for p in diff.changed],
        removed=[r.key for r in diff.removed],
        unblocked=unblocked,
        retired=[r.key for r in diff.removed if r.key in retiring],
    )
    relink = None if known is None else known.relink | set(retiring)
    await step_queue.link_dependencies(session, course.id, only=relink)
    return replace(result, event=await _event(session, course, result, actor, now))


def _rebalance_blocked(rows: list[Step], touched: set[str], now: datetime) -> list[str]:
    """Unblock steps no failed step holds up any more; block new or changed pending steps
    that now wait on a failed one (as the runner would have, had they existed then)."""
    roots = _failed_roots(rows)
    unblocked = []
    for row in rows:
        if row.state == "blocked" and row.key not in roots:
            _restart(row, now)
            unblocked.append(row.key)
        elif row.state == "pending" and row.key in touched and row.key in roots:
            row.state = "blocked"
            row.last_error = f"waits for {roots[row.key]}, which failed"
            row.updated_at = now
    return unblocked


async def _replace_people(session: AsyncSession, course: Course, spec: CourseSpec) -> None:
    # Core deletes run at once; ORM deletes would flush after the inserts and trip the unique
    # (course_id, name) of a lab group that is both removed and added back.
    await session.execute(delete(Member).where(Member.course_id == course.id))
    await session.execute(delete(LabGroup).where(LabGroup.course_id == course.id))
    await add_members(session, course.id, spec)
    session.add_all(LabGroup(course_id=course.id, name=g) for g in spec.groups)


async def _change_people(session: AsyncSession, course: Course, known: KnownPlan) -> None:
    """Delete the member rows and lab groups the new description lacks and insert those it
    adds (a description that fixes one login rewrites one row, not 10,000)."""
    for part in step_queue.chunks(known.members_gone):
        await session.execute(delete(Member).where(Member.id.in_(part)))
    if known.members_added:
        await session.execute(insert(Member), known.members_added)
    if known.groups_gone:
        await session.execute(
            delete(LabGroup).where(
                LabGroup.course_id == course.id, LabGroup.name.in_(known.groups_gone)
            )
        )
    session.add_all(LabGroup(course_id=course.id, name=g) for g in known.groups_added)


async def _event(
    session: AsyncSession, course: Course, change: AppliedChange, actor: str, now: datetime
) -> audit_chain.AuditEntry:
    steps = await session.scalar(select(func.count()).where(Step.course_id == course.id))
    return audit_chain.event_entry(
        at=now,
        actor=actor,
        event="course.updated",
        course_id=course.id,
        summary={
            "added": len(change.added),
            "changed": len(change.changed),
            "removed": len(change.removed),
            "retired": len(change.retired),
            "unblocked": len(change.unblocked),
            "steps": steps,
            "plan_digest": course.plan_digest,
            "keys": {
                "added": change.added[:_AUDIT_KEYS_MAX],
                "changed": change.changed[:_AUDIT_KEYS_MAX],
                "removed": change.removed[:_AUDIT_KEYS_MAX],
                "retired": change.retired[:_AUDIT_KEYS_MAX],
            },
        },
    )
