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

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

from sqlalchemy import (
    ColumnElement,
    String,
    cast,
    delete,
    func,
    insert,
    inspect,
    literal,
    select,
    text,
)
from sqlalchemy import update as update_rows
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import defer
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.types import JSON

from db import audit_chain, step_queue
from db.models import Course, LabGroup, Member, Step, spec_digest
from provisioning.courses.changes import StepsRunningError
from provisioning.courses.retire import RETIRED_KINDS, Retirement, retirement, touched
from provisioning.courses.spec import CourseSpec
from provisioning.courses.stored_plan import MEMBER_FIELDS
from provisioning.errors import (
    CourseConflictError,
    CourseNotFoundError,
    CourseValidationError,
    FieldProblem,
)
from provisioning.plan import PlannedStep, plan_digest

if TYPE_CHECKING:  # they import this module: only their types are needed here
    from provisioning.courses.known_plan import KnownPlan, Prepared

# A change is the fix for a step that failed or waits for a person: it gets a fresh start.
_RESTART_STATES = frozenset({"succeeded", "failed", "blocked", "awaiting_action"})
_AUDIT_KEYS_MAX = 50
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


async def lock_course(session: AsyncSession, course_id: str, *, spec: bool = True) -> Course:
    """The course row, locked until the transaction ends (PostgreSQL: FOR UPDATE).

    SQLite ignores FOR UPDATE and begins lazily: a no-op write takes its one write lock first,
    so a reader that later writes can never lose the race halfway through. `spec=False`
    leaves the description unread (decoding 1.5 MB of JSON holds the event loop; read it
    with `stored_spec` if needed).
    """
    if session.get_bind().dialect.name == "sqlite":
        await session.execute(text("UPDATE courses SET id = id WHERE 1 = 0"))
    options = [] if spec else [defer(Course.spec)]
    row = await session.get(Course, course_id, with_for_update=True, options=options)
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


def differs(row: _PlanContent, planned: PlannedStep) -> bool:
    """Whether a stored step's content differs from the planned step of its key."""
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


def member_key(row: dict[str, Any]) -> tuple[Any, ...]:
    """A member row's values in `MEMBER_FIELDS` order, as `read_stored` reads them."""
    return tuple(row[name] for name in MEMBER_FIELDS)


async def stored_spec(session: AsyncSession, course: Course) -> dict[str, Any]:
    """The course's description as stored, read now if `lock_course` left it unread."""
    if "spec" not in inspect(course).unloaded:
        return course.spec
    spec: dict[str, Any] | None = await session.scalar(
        select(Course.spec).where(Course.id == course.id)
    )
    assert spec is not None
    return spec


async def holding(
    session: AsyncSession, course: Course, known: KnownPlan | None
) -> KnownPlan | None:
    """`known` if it still holds for the locked course, else None (then only the full
    comparison, of every step, can tell the difference)."""
    if known is None or not known.holds_for(course.spec_digest, course.plan_digest):
        return None  # another update came first: compare everything, under the lock
    if await _any_failed(session, course.id):
        return None  # what a failure blocks is found by walking every step
    return known


async def _locked_rows(session: AsyncSession, course_id: str, known: KnownPlan) -> list[Step]:
    """The rows a known difference changes or reads, and the blocked ones (an update may
    unblock them), locked, in plan order."""
    keys = sorted({*(p.key for p in known.changed), *known.removed, *known.referenced})
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
    planned: list[PlannedStep] | None,
    *,
    lock: bool = True,
    leave_org: bool = True,
    known: KnownPlan | None = None,
) -> PlanDiff:
    """Compare the course's rows with `spec`'s plan; raises what `apply_update` would refuse
    (`CourseValidationError`, `CourseConflictError`, `StepsRunningError`). `lock`: the rows
    stay locked until the transaction ends (an update); a preview only reads. With a `known`
    difference (which must hold for the course), only the rows it touches are read: then
    `rows` holds those and the blocked ones, not every step, and `planned` may be None."""
    if known is not None:
        rows = await _locked_rows(session, course.id, known)
        stored = {row.key: row for row in rows}
        removed = [stored[key] for key in known.removed]
        changed = known.changed
    else:
        if planned is None:
            raise ValueError("diff_plan needs the plan unless a known difference holds")
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
        changed = [p for p in planned if p.key in stored and differs(stored[p.key], p)]
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
    if known is not None:
        added = known.added
    else:
        assert planned is not None
        added = [p for p in planned if p.key not in stored]
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
    planned: list[PlannedStep] | None,
    *,
    actor: str,
    now: datetime,
    check: Callable[[PlanDiff], None] = lambda _: None,
    leave_org: bool = True,
    prepared: Prepared | None = None,
) -> AppliedChange:
    """Bring the locked course's rows to `spec` and its plan, in the caller's transaction.

    The result carries the change's audit event, not yet appended: the caller appends it as
    the transaction's last write (`audit_chain.append_many`, one INSERT without a lock; the
    sealer chains it after the commit).

    `prepared` (`known_plan.prepare_update` of `spec`) brings the digests, the encoded JSON
    and the difference, computed off the event loop; its `known` must hold for the locked
    course (the caller keeps it only if `holding` does), and then `planned` may be None.
    Without a known difference, `planned` is required.

    `check` sees the difference before anything is written and may refuse it (the safety
    limit on removals). Raises before writing anything: `CourseValidationError` (code, term
    or organization changed after GitHub resources exist), `CourseConflictError` (the new
    code and term are another course's), `StepsRunningError`, or what `check` raises.
    """
    known = prepared.known if prepared is not None else None
    if known is not None and not known.holds_for(course.spec_digest, course.plan_digest):
        raise ValueError("the known difference no longer holds: check it with `holding`")
    if known is None and planned is None:
        raise ValueError("apply_update needs the plan unless a known difference holds")
    if prepared is not None:
        new_digest, new_spec_digest = prepared.plan_digest, prepared.spec_digest
    else:
        assert planned is not None
        new_spec = spec.model_dump(mode="json")
        new_digest, new_spec_digest = plan_digest(planned), spec_digest(new_spec)
    if new_digest == course.plan_digest and (
        new_spec_digest == course.spec_digest
        if course.spec_digest is not None
        else spec.model_dump(mode="json") == await stored_spec(session, course)
    ):
        return NO_CHANGE
    diff = await diff_plan(session, course, spec, planned, leave_org=leave_org, known=known)
    check(diff)
    rows, stored, retiring = diff.rows, diff.stored, diff.retiring
    kept_row = _kept(planned, known)
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
    kept = [r for r in rows if kept_row(r)]
    touched_now = {p.key for p in [*diff.changed, *diff.added]} | set(retiring)
    unblocked = _rebalance_blocked([*kept, *new_rows], touched_now, now)
    if known is not None:
        await _change_people(session, course, known)
    else:
        await _replace_people(session, course, spec)
    if prepared is not None:
        await _write_course(session, course, spec, prepared)
    else:
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


def _kept(planned: list[PlannedStep] | None, known: KnownPlan | None) -> Callable[[Step], bool]:
    """Whether a row of the difference stays (after its retirement, if it is retired): it is
    planned, or a removal step. A known difference lists every unplanned row that is no
    removal step in `removed`, so its rows are tested against that instead of the 30,000
    planned keys."""
    if known is not None:
        removed = set(known.removed)
        return lambda row: row.kind in RETIRED_KINDS or row.key not in removed
    assert planned is not None
    wanted = {step.key for step in planned}
    return lambda row: row.key in wanted or row.kind in RETIRED_KINDS


async def _write_course(
    session: AsyncSession, course: Course, spec: CourseSpec, prepared: Prepared
) -> None:
    """The course row's new description (as the JSON encoded already), digests and names, in
    one UPDATE: through the ORM, the 1.5 MB description would be encoded and digested again,
    on the event loop."""
    values: dict[str, Any] = {
        "code": spec.code,
        "term": spec.term,
        "github_org": spec.github_org,
        "title": spec.title,
        "kind": spec.kind,
        "plan_digest": prepared.plan_digest,
        "spec_digest": prepared.spec_digest,
    }
    await session.execute(
        update_rows(Course)
        .where(Course.id == course.id)
        .values(spec=_encoded_json(session, prepared.spec_json), **values)
        .execution_options(synchronize_session=False)
    )
    for name, value in values.items():
        set_committed_value(course, name, value)
    session.expire(course, ["spec"])


def _encoded_json(session: AsyncSession, encoded: str) -> ColumnElement[Any]:
    """A JSON column's value from JSON text, not encoded again. PostgreSQL takes text for json
    only by a cast; SQLite stores the text as it is (a cast to its JSON affinity, NUMERIC,
    would turn it into 0)."""
    value = literal(encoded, String())
    if session.get_bind().dialect.name == "sqlite":
        return value
    return cast(value, JSON)


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
