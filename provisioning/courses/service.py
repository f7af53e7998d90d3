"""The course service: store a validated course with its plan, list, inspect status, retry."""

from __future__ import annotations

import asyncio
import builtins
import functools
import hashlib
import logging
import uuid
from collections import defaultdict
from collections.abc import Awaitable, Callable, Collection
from dataclasses import replace
from datetime import datetime

from sqlalchemy import RowMapping, Select, String, bindparam, delete, func, select, tuple_, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db import audit_chain, step_queue
from db.engine import reading
from db.models import STEP_STATES, AuditEvent, Course, IdempotencyKey, LabGroup, Member, Step
from provisioning.clock import Clock
from provisioning.courses.archive import archived_plan
from provisioning.courses.change_preview import (
    ChangePreview,
    PeopleChange,
    SafetyLimit,
    check_confirmation,
    people_change,
    preview_of,
    preview_with,
)
from provisioning.courses.changes import CourseArchivedError, CourseDeleteRefusedError
from provisioning.courses.drift_report import REPORTED as RECONCILE_REPORTED
from provisioning.courses.drift_report import STARTED as RECONCILE_STARTED
from provisioning.courses.drift_status import LastReconcile, last_reconcile
from provisioning.courses.invitation_notes import (
    INVITE_KIND,
    InvitationsWaiting,
    invitations_waiting,
)
from provisioning.courses.known_plan import Prepared, prepare_update
from provisioning.courses.known_specs import KnownSpecs
from provisioning.courses.plan_worker import IN_PROCESS_STUDENTS, PlanWorker
from provisioning.courses.spec import CourseSpec
from provisioning.courses.stored_plan import StoredPlan, read_stored
from provisioning.courses.update import (
    AppliedChange,
    PlanDiff,
    add_members,
    apply_update,
    diff_plan,
    holding,
    lock_course,
    made_something,
    step_rows,
    stored_spec,
)
from provisioning.courses.views import (
    ACTIONS_SHOWN,
    CoursePage,
    CourseRecord,
    CourseState,
    CourseStatus,
    CourseSummary,
    CourseUpdate,
    InvalidCursorError,
    RetryOutcome,
    StatusOverview,
    StatusPage,
    StatusSummary,
    StepAction,
    StepStatus,
    action_of,
    decode_cursor,
    derive_state,
    encode_cursor,
)
from provisioning.errors import CourseConflictError, CourseNotFoundError, NothingToRetryError
from provisioning.github.invitations import WAIT_CODE
from provisioning.plan import PlannedStep, plan_course, plan_digest

__all__ = [
    "CoursePage",
    "CourseRecord",
    "CourseService",
    "CourseState",
    "CourseStatus",
    "InTransaction",
    "InvalidCursorError",
    "RetryOutcome",
    "StepAction",
    "StepStatus",
    "derive_state",
]

log = logging.getLogger(__name__)

# Work a caller wants committed, or rolled back, together with a new course (e.g. the stored
# answer of an idempotent request): it runs last inside the course's transaction.
InTransaction = Callable[[AsyncSession, CourseRecord], Awaitable[None]]
UpdateInTransaction = Callable[[AsyncSession, CourseUpdate], Awaitable[None]]

RETRYABLE_STATES = ("failed", "blocked", "awaiting_action")
# Keep audit rows small: a retry of thousands of invites records the first keys and the count.
_AUDIT_KEYS_MAX = 50
# Courses whose last reconcile is kept (`CourseService._last_reconcile`): a few bytes each.
RECONCILES_KEPT = 1024


# StepStatus's fields, in its order.
_STATUS_COLUMNS = (
    Step.key,
    Step.kind,
    Step.state,
    Step.attempts,
    Step.last_error,
    Step.last_error_code,
    Step.action_hint,
    Step.external_id,
    Step.next_attempt_at,
    Step.updated_at,
)


def _status_of(row: RowMapping) -> StepStatus:
    """A step's status from a row selected with `_STATUS_COLUMNS`."""
    return StepStatus(**{column.key: row[column.key] for column in _STATUS_COLUMNS})


def _record(row: Course, spec: CourseSpec | None = None) -> CourseRecord:
    """The record of a course row; `spec` when the caller holds the row's spec validated."""
    return CourseRecord(
        id=row.id,
        code=row.code,
        term=row.term,
        title=row.title,
        kind=row.kind,
        github_org=row.github_org,
        spec=spec if spec is not None else CourseSpec.model_validate(row.spec),
        plan_digest=row.plan_digest,
        created_at=row.created_at,
        archived_at=row.archived_at,
    )


def _students(description: object) -> int:
    """How many students a description lists (whether valid or not)."""
    if isinstance(description, CourseSpec):
        return len(description.students)
    students = description.get("students") if isinstance(description, dict) else None
    return len(students) if isinstance(students, list) else 0


def _nobody_to_wake() -> None:
    """The change hook of a process without a runner."""


@functools.cache
def _summary_query() -> Select[str, str, int, datetime | None, int | None, int | None]:
    """The status summary's one statement: per (state, kind) of the course's steps the count
    and last change, and the ids of its last reconcile events riding along as two indexed
    subqueries (their details are read only when they change). Built once, on the table's
    columns, with the course as a parameter: built per poll through the ORM's attributes,
    building it cost more CPU than running it (`bench/status.py`)."""
    steps, events = Step.__table__.c, AuditEvent.__table__.c
    course = bindparam("course_id", type_=String)
    started = (
        select(func.max(events.id))
        .where(events.course_id == course, events.event == RECONCILE_STARTED)
        .scalar_subquery()
    )
    reported = (
        select(func.max(events.id))
        .where(
            events.course_id == course,
            events.event == RECONCILE_REPORTED,
            events.id > started,
        )
        .scalar_subquery()
    )
    return (
        select(
            steps.state,
            steps.kind,
            func.count(),
            func.max(steps.updated_at),
            started.label("started"),
            reported.label("reported"),
        )
        .where(steps.course_id == course)
        .group_by(steps.state, steps.kind)
    )


class CourseService:
    """Courses and their planned steps. Every public method is one unit of work."""

    def __init__(
        self,
        session_factory: async_sessionmaker[AsyncSession],
        clock: Clock,
        planner: Callable[[CourseSpec], list[PlannedStep]] = plan_course,
        on_change: Callable[[], None] = _nobody_to_wake,
        safety: SafetyLimit = SafetyLimit(),
        leave_org: bool = True,
        plan_worker: PlanWorker | None = None,
        known_specs: KnownSpecs | None = None,
    ) -> None:
        self._sessions = session_factory
        self._clock = clock
        self._planner = planner
        # Each course's last reconcile by the ids of its audit events (`_last_reconcile`).
        self._reconciles: dict[str, tuple[tuple[int, int | None], LastReconcile | None]] = {}
        # The invitations waiting, by course, with the summary version they were read at.
        self._invitations: dict[str, tuple[str, InvitationsWaiting | None]] = {}
        self._safety = safety
        # Whether people dropped from every course of an organization it invited them to
        # leave it too (`provisioning.courses.retire`); else their membership is left alone.
        self._leave_org = leave_org
        # Called after a commit that made steps due (the runner's wake()), so they start now
        # rather than at the runner's next tick. It must not block.
        self._on_change = on_change
        # Where a big update's CPU work runs (`provisioning.courses.plan_worker`); without
        # one, or with a planner of a test's, on a thread.
        self._plan_worker = plan_worker
        # The descriptions the runner's steps read, as stored and validated: each one this
        # service stores is kept there (the runner then neither decodes nor validates it).
        self._known_specs = known_specs or KnownSpecs()

    async def create(
        self, spec: CourseSpec, actor: str, *, within: InTransaction | None = None
    ) -> CourseRecord:
        """Store the course, its members, groups and pending steps in one transaction.

        ``within`` runs at the end of that transaction: if it raises, nothing is stored.
        """
        steps = self._planner(spec)
        now = self._clock.now()
        row = Course(
            id=str(uuid.uuid4()),
            code=spec.code,
            term=spec.term,
            title=spec.title,
            kind=spec.kind,
            github_org=spec.github_org,
            spec=spec.model_dump(mode="json"),
            plan_digest=plan_digest(steps),
            created_at=now,
        )
        try:
            async with self._sessions.begin() as session:
                await self._raise_if_exists(session, spec)
                session.add(row)
                await session.flush()
                await add_members(session, row.id, spec)
                session.add_all(LabGroup(course_id=row.id, name=g) for g in spec.groups)
                session.add_all(step_rows(row.id, steps, now))
                await step_queue.link_dependencies(session, row.id)
                await audit_chain.append_event(
                    session,
                    at=now,
                    actor=actor,
                    event="course.created",
                    course_id=row.id,
                    summary={
                        "code": spec.code,
                        "term": spec.term,
                        "steps": len(steps),
                        "plan_digest": row.plan_digest,
                    },
                )
                record = _record(row)
                if within is not None:
                    await within(session, record)
        except IntegrityError:
            # Lost a race with a concurrent create of the same course: the constraint decided.
            async with self._sessions() as session:
                await self._raise_if_exists(session, spec)
            raise
        self._known_specs.keep(row.id, row.spec_digest, row.spec, spec)
        log.info("course created", extra={"course_id": row.id, "actor": actor})
        self._on_change()
        return record

    async def _raise_if_exists(self, session: AsyncSession, spec: CourseSpec) -> None:
        existing = await session.scalar(
            select(Course.id).where(Course.code == spec.code, Course.term == spec.term)
        )
        if existing is not None:
            raise CourseConflictError(existing, spec.code, spec.term)

    async def list(self, limit: int = 50, cursor: str | None = None) -> CoursePage:
        """Courses in creation order, ``limit`` at a time (1-100)."""
        if not 1 <= limit <= 100:
            raise ValueError("limit must be between 1 and 100")
        query = select(Course).order_by(Course.created_at, Course.id).limit(limit + 1)
        if cursor is not None:
            after = decode_cursor(cursor)
            query = query.where(tuple_(Course.created_at, Course.id) > tuple_(*after))
        async with self._sessions() as session:
            rows = list((await session.scalars(query)).all())
        more = len(rows) > limit
        rows = rows[:limit]
        next_cursor = encode_cursor(rows[-1].created_at, rows[-1].id) if more else None
        return CoursePage(items=[_record(r) for r in rows], next_cursor=next_cursor)

    async def recent(self, limit: int = 10) -> builtins.list[CourseSummary]:
        """The newest ``limit`` courses, newest first, each with its derived state."""
        query = select(Course).order_by(Course.created_at.desc(), Course.id.desc()).limit(limit)
        async with self._sessions() as session:
            rows = (await session.scalars(query)).all()
            pairs = await session.execute(
                select(Step.course_id, Step.state)
                .distinct()
                .where(Step.course_id.in_([r.id for r in rows]))
            )
        states: defaultdict[str, builtins.list[str]] = defaultdict(list)
        for course_id, state in pairs:
            states[course_id].append(state)
        return [
            CourseSummary(r.id, r.code, r.term, r.title, derive_state(states[r.id]), r.created_at)
            for r in rows
        ]

    async def get(self, course_id: str) -> CourseRecord:
        """The course with this id, or CourseNotFoundError."""
        async with self._sessions() as session:
            row = await session.get(Course, course_id)
        if row is None:
            raise CourseNotFoundError(course_id)
        return _record(row)

    async def status(self, course_id: str) -> CourseStatus:
        """The course state derived from its steps, plus every step in plan order."""
        async with self._sessions() as session:
            return await self._status(session, course_id)

    async def _status(self, session: AsyncSession, course_id: str) -> CourseStatus:
        exists = await session.scalar(select(func.count()).where(Course.id == course_id))
        if not exists:
            raise CourseNotFoundError(course_id)
        # Only the columns a status shows: the plan's params and facts stay unread.
        rows = (
            await session.execute(
                select(*_STATUS_COLUMNS).where(Step.course_id == course_id).order_by(Step.position)
            )
        ).all()
        steps = [_status_of(row._mapping) for row in rows]
        counts = dict.fromkeys(STEP_STATES, 0)
        for step in steps:
            counts[step.state] += 1
        state = derive_state([step.state for step in steps])
        return CourseStatus(course_id=course_id, state=state, counts=counts, steps=steps)

    async def status_summary(self, course_id: str) -> StatusSummary:
        """The course state and counts per state and per platform, from one aggregate query
        over the course's steps (its version tells a poller whether anything changed). Read
        outside a transaction (each poll's one read; no BEGIN and ROLLBACK round trips)."""
        async with reading(self._sessions) as session:
            return await self._summary(session, course_id)

    async def status_page(
        self,
        course_id: str,
        *,
        limit: int,
        after: int = -1,
        states: Collection[str] = (),
    ) -> StatusPage:
        """The summary and up to `limit` steps after plan position `after`, in plan order,
        only those in `states` when given."""
        async with self._sessions() as session:
            overview = await self._overview(session, course_id)
            # Only the columns a status shows: the plan's params and facts stay unread.
            query = (
                select(*_STATUS_COLUMNS, Step.position)
                .where(Step.course_id == course_id, Step.position > after)
                .order_by(Step.position)
                .limit(limit + 1)
            )
            if states:
                query = query.where(Step.state.in_(sorted(states)))
            rows = (await session.execute(query)).all()
        more = len(rows) > limit
        rows = rows[:limit]
        return StatusPage(
            summary=overview.summary,
            actions=overview.actions,
            steps=[_status_of(row._mapping) for row in rows],
            next_after=rows[-1].position if more and rows else None,
        )

    async def step_status(self, course_id: str, key: str) -> StepStatus | None:
        """One step of the course by its key (None if the plan has none), read alone."""
        async with self._sessions() as session:
            row = (
                await session.execute(
                    select(*_STATUS_COLUMNS).where(Step.course_id == course_id, Step.key == key)
                )
            ).first()
        return None if row is None else _status_of(row._mapping)

    async def _overview(self, session: AsyncSession, course_id: str) -> StatusOverview:
        """The summary and the first steps waiting for a person: two index reads whatever the
        course's size (no step is read whole)."""
        summary = await self._summary(session, course_id)
        waiting = (
            await session.execute(
                select(Step.key, Step.action_hint, Step.last_error)
                .where(Step.course_id == course_id, Step.state == "awaiting_action")
                .order_by(Step.position)
                .limit(ACTIONS_SHOWN)
            )
        ).all()
        return StatusOverview(
            summary=summary, actions=[action_of(key, hint, error) for key, hint, error in waiting]
        )

    async def _summary(self, session: AsyncSession, course_id: str) -> StatusSummary:
        groups = (await session.execute(_summary_query(), {"course_id": course_id})).all()
        counts = dict.fromkeys(STEP_STATES, 0)
        platforms: dict[str, dict[str, int]] = {
            "github": dict.fromkeys(STEP_STATES, 0),
            "discord": dict.fromkeys(STEP_STATES, 0),
        }
        latest: list[str] = []
        for state, kind, n, updated, _, _ in groups:
            counts[state] += n
            platform = kind.split(".", 1)[0]
            platforms.setdefault(platform, dict.fromkeys(STEP_STATES, 0))[state] += n
            latest.append(f"{state}/{kind}/{n}/{updated.isoformat() if updated else ''}")
        # Every course has steps: none means no such course (asked only then, so a poll of a
        # course that exists costs one query).
        if not groups and not await session.scalar(
            select(func.count()).where(Course.id == course_id)
        ):
            raise CourseNotFoundError(course_id)
        if not groups:  # a course without steps: no ids rode along, read it directly
            reconciled = await last_reconcile(session, course_id)
        elif groups[0].started is None:
            reconciled = None
        else:
            reconciled = await self._last_reconcile(
                session, course_id, (groups[0].started, groups[0].reported)
            )
        present = [state for state, n in counts.items() if n]
        if reconciled is not None:  # a report recorded changes the status, steps or not
            latest.append(f"reconcile/{reconciled.event_id}")
        version = hashlib.sha256("|".join(sorted(latest)).encode()).hexdigest()[:32]
        invitations = None
        if any(state == "pending" and kind == INVITE_KIND for state, kind, *_ in groups):
            invitations = await self._invitations_waiting(session, course_id, version)
        return StatusSummary(
            course_id=course_id,
            state=derive_state(present),
            counts=counts,
            platforms=platforms,
            version=version,
            last_reconcile=reconciled,
            invitations=invitations,
        )

    async def _invitations_waiting(
        self, session: AsyncSession, course_id: str, version: str
    ) -> InvitationsWaiting | None:
        """The course's invitations waiting for GitHub's window, read again only when a step of
        the course changed (the summary's version): the read leaves the summary's index for
        the pending invitations' rows, and pollers ask far more often than steps change."""
        known = self._invitations.get(course_id)
        if known is not None and known[0] == version:
            return known[1]
        found = await invitations_waiting(session, course_id, WAIT_CODE)
        if len(self._invitations) >= RECONCILES_KEPT:
            self._invitations.pop(next(iter(self._invitations)))
        self._invitations[course_id] = (version, found)
        return found

    async def _last_reconcile(
        self, session: AsyncSession, course_id: str, events: tuple[int, int | None]
    ) -> LastReconcile | None:
        """The course's last reconcile, read again only when its audit events differ from
        those read last time (audit events never change once written)."""
        known = self._reconciles.get(course_id)
        if known is not None and known[0] == events:
            return known[1]
        found = await last_reconcile(session, course_id)
        if len(self._reconciles) >= RECONCILES_KEPT:
            self._reconciles.pop(next(iter(self._reconciles)))
        self._reconciles[course_id] = (events, found)
        return found

    async def update(
        self,
        course_id: str,
        spec: CourseSpec,
        actor: str,
        *,
        within: UpdateInTransaction | None = None,
        confirm_removals: int | None = None,
    ) -> CourseUpdate:
        """Re-plan from ``spec`` and apply only the difference (``provisioning.courses.update``)
        in one transaction on the locked course, ending with ``within``; a refusal changes nothing.

        A change over the safety limit (`preview`) is refused with `ConfirmationRequiredError`
        unless ``confirm_removals`` is its number of removals.
        """
        return await self._update(course_id, spec, actor, within, confirm_removals)

    async def update_description(
        self,
        course_id: str,
        description: object,
        actor: str,
        *,
        within: UpdateInTransaction | None = None,
        confirm_removals: int | None = None,
    ) -> CourseUpdate:
        """`update` with an unvalidated description (a `PUT /courses/{id}` body): validated as
        `parse_course` does, raising its `CourseValidationError`, with the plan, off the event
        loop (a big one in the worker process)."""
        return await self._update(course_id, description, actor, within, confirm_removals)

    async def _update(
        self,
        course_id: str,
        description: object,
        actor: str,
        within: UpdateInTransaction | None,
        confirm_removals: int | None,
    ) -> CourseUpdate:
        # The stored course, read before the lock, and the difference to it, computed off the
        # loop: the locked part then reads and writes only the rows it changes (milliseconds,
        # not seconds, for a big course).
        async with self._sessions() as session:
            stored = await read_stored(session, course_id)
        prepared = await self._prepare(description, stored)
        spec = prepared.spec
        now = self._clock.now()
        async with self._sessions.begin() as session:
            row = await lock_course(session, course_id, spec=False)
            if row.archived_at is not None:
                raise CourseArchivedError(course_id)
            known = await holding(session, row, prepared.known)
            planned = None
            if known is not None:
                people, old_students = known.people, known.old_students
            else:  # compared in full, under the lock: another update came first, or a failure
                old = CourseSpec.model_validate(await stored_spec(session, row))
                people, old_students = people_change(old, spec), len(old.students)
                planned = await asyncio.to_thread(self._planner, spec)

            def check(diff: PlanDiff) -> None:
                preview = preview_with(course_id, people, old_students, diff, self._safety)
                check_confirmation(preview, confirm_removals)

            done = await apply_update(
                session,
                row,
                spec,
                planned,
                actor=actor,
                now=now,
                check=check,
                leave_org=self._leave_org,
                prepared=replace(prepared, known=known),
            )
            outcome = await self._outcome(session, row, done, within, spec)
            # Last: from here to the commit the audit chain is locked for every writer.
            if done.event is not None:
                await audit_chain.append(session, done.event)
        self._known_specs.keep(course_id, prepared.spec_digest, prepared.stored, spec)
        log.info("course updated", extra={"course_id": course_id, "actor": actor})
        if outcome.added or outcome.changed or outcome.unblocked or outcome.retired:
            self._on_change()
        return outcome

    async def _prepare(self, description: object, stored: StoredPlan | None) -> Prepared:
        """`prepare_update` in the worker process for a big description, else on a thread
        (for a small one the round trip to the process costs more than it saves)."""
        worker = self._plan_worker
        if (
            worker is not None
            and self._planner is plan_course
            and _students(description) >= IN_PROCESS_STUDENTS
        ):
            if isinstance(description, CourseSpec):
                # Sent as plain data: pickling 10,000 models costs more than validating again.
                description = description.model_dump(mode="json")
            return await worker.prepare(description, stored)
        return await asyncio.to_thread(prepare_update, description, stored, self._planner)

    async def preview(self, course_id: str, spec: CourseSpec) -> ChangePreview:
        """What `update` with ``spec`` would add, change and remove, per resource and person,
        and whether it needs `confirm_removals` (and which number); nothing is stored. Raises
        what `update` would refuse for other reasons (fixed fields, steps running)."""
        steps = self._planner(spec)
        async with self._sessions() as session:
            row = await session.get(Course, course_id)
            if row is None:
                raise CourseNotFoundError(course_id)
            old = CourseSpec.model_validate(row.spec)
            if spec == old:
                return ChangePreview(course_id, [], PeopleChange(), 0, [], False, [])
            diff = await diff_plan(session, row, spec, steps, lock=False, leave_org=self._leave_org)
        return preview_of(course_id, old, spec, diff, self._safety)

    async def archive(
        self, course_id: str, actor: str, *, within: UpdateInTransaction | None = None
    ) -> CourseUpdate:
        """End of term (`provisioning.courses.archive`): repositories archived, channels
        read-only for students, invites revoked, roles kept; the course is marked archived.
        Applied as a change of plan (the steps do the work); archiving again changes nothing.
        ``within`` runs last in the same transaction (a draft marked confirmed with it)."""
        return await self._set_archived(course_id, actor, archived=True, within=within)

    async def unarchive(
        self, course_id: str, actor: str, *, within: UpdateInTransaction | None = None
    ) -> CourseUpdate:
        """Undo `archive` exactly: the course's plan as before, new invite links."""
        return await self._set_archived(course_id, actor, archived=False, within=within)

    async def archive_preview(self, course_id: str, *, archived: bool = True) -> ChangePreview:
        """What `archive` (or, with ``archived=False``, `unarchive`) would change; nothing is
        stored."""
        async with self._sessions() as session:
            row = await session.get(Course, course_id)
            if row is None:
                raise CourseNotFoundError(course_id)
            spec = CourseSpec.model_validate(row.spec)
            steps = self._plan(spec, archived=archived)
            diff = await diff_plan(session, row, spec, steps, lock=False)
        return preview_of(course_id, spec, spec, diff, SafetyLimit(confirm_archive=False))

    async def _outcome(
        self,
        session: AsyncSession,
        row: Course,
        done: AppliedChange,
        within: UpdateInTransaction | None,
        spec: CourseSpec | None = None,
    ) -> CourseUpdate:
        """What ``done`` did to the locked ``row`` and the status after, handed to ``within``
        still inside the transaction (so its writes commit or roll back with the change)."""
        outcome = CourseUpdate(
            _record(row, spec),
            done.added,
            done.changed,
            done.removed,
            done.unblocked,
            await self._overview(session, row.id),
            retired=done.retired,
        )
        if within is not None:
            await within(session, outcome)
        return outcome

    def _plan(self, spec: CourseSpec, *, archived: bool) -> builtins.list[PlannedStep]:
        steps = self._planner(spec)
        return archived_plan(steps) if archived else steps

    async def _set_archived(
        self,
        course_id: str,
        actor: str,
        *,
        archived: bool,
        within: UpdateInTransaction | None = None,
    ) -> CourseUpdate:
        now = self._clock.now()
        async with self._sessions.begin() as session:
            row = await lock_course(session, course_id)
            spec = CourseSpec.model_validate(row.spec)
            steps = self._plan(spec, archived=archived)
            done = await apply_update(session, row, spec, steps, actor=actor, now=now)
            was = row.archived_at is not None
            row.archived_at = (row.archived_at or now) if archived else None
            events = [done.event] if done.event is not None else []
            if was != archived:
                events.append(
                    audit_chain.event_entry(
                        at=now,
                        actor=actor,
                        event="course.archived" if archived else "course.unarchived",
                        course_id=course_id,
                        summary={"changed": len(done.changed), "retired": len(done.retired)},
                    )
                )
            outcome = await self._outcome(session, row, done, within)
            # Last, as in `update`: the chain stays locked from the append to the commit.
            await audit_chain.append_many(session, events)
        log.info(
            "course archived" if archived else "course unarchived",
            extra={"course_id": course_id, "actor": actor},
        )
        if done.any:
            self._on_change()
        return outcome

    async def delete(self, course_id: str, actor: str) -> None:
        """Remove a course nothing was made for yet (its server may be claimed: the server is
        the instructor's), with its steps and people; the audit log keeps its history.

        Once a step made something on GitHub or Discord, `CourseDeleteRefusedError`: a
        course is then never deleted, only archived, so nobody's work goes with it.
        """
        now = self._clock.now()
        async with self._sessions.begin() as session:
            row = await lock_course(session, course_id)
            steps = (
                await session.scalars(
                    select(Step)
                    .where(Step.course_id == course_id)
                    .order_by(Step.position)
                    .with_for_update()
                )
            ).all()
            made = [s.key for s in steps if s.kind != "discord.server" and made_something(s)]
            if made:
                raise CourseDeleteRefusedError(course_id, made)
            await step_queue.unlink_steps(session, [s.id for s in steps])
            await session.execute(delete(Step).where(Step.course_id == course_id))
            await session.execute(delete(Member).where(Member.course_id == course_id))
            await session.execute(delete(LabGroup).where(LabGroup.course_id == course_id))
            # The stored answers stay (a replay still gets them); they just name no course.
            await session.execute(
                update(IdempotencyKey)
                .where(IdempotencyKey.course_id == course_id)
                .values(course_id=None)
            )
            await audit_chain.append_event(
                session,
                at=now,
                actor=actor,
                event="course.deleted",
                course_id=course_id,
                summary={"code": row.code, "term": row.term, "steps": len(steps)},
            )
            await session.delete(row)
        log.info("course deleted", extra={"course_id": course_id, "actor": actor})

    async def retry(self, course_id: str, actor: str) -> RetryOutcome:
        """Send failed, blocked and waiting steps back to pending, due now; with them, the
        finished steps, to be verified (DESIGN.md §2, step 5).

        A resource deleted by hand since its step succeeded is only noticed by a step that
        needs it, which cannot bring it back; re-running the finished steps (stored external
        ids and facts kept, so their executors verify and repair, writing nothing when all is
        well) recreates it first. Nothing failed or waiting: `NothingToRetryError`.
        """
        now = self._clock.now()
        reset = {
            "state": "pending",
            "attempts": 0,
            "next_attempt_at": now,
            "lease_owner": None,
            "lease_expires_at": None,
            "updated_at": now,
        }
        async with self._sessions.begin() as session:
            if await session.get(Course, course_id) is None:
                raise CourseNotFoundError(course_id)
            # One UPDATE each: a step the runner holds ("running") is never touched.
            result = await session.execute(
                update(Step)
                .where(Step.course_id == course_id, Step.state.in_(RETRYABLE_STATES))
                .values(**reset)
                .returning(Step.key)
                .execution_options(synchronize_session=False)
            )
            retried = sorted(result.scalars().all())
            if not retried:
                raise NothingToRetryError(course_id)
            result = await session.execute(
                update(Step)
                .where(Step.course_id == course_id, Step.state == "succeeded")
                .values(**reset)
                .returning(Step.key)
                .execution_options(synchronize_session=False)
            )
            verified = sorted(result.scalars().all())
            await audit_chain.append_event(
                session,
                at=now,
                actor=actor,
                event="course.retry_requested",
                course_id=course_id,
                summary={
                    "count": len(retried),
                    "steps": retried[:_AUDIT_KEYS_MAX],
                    "verified": len(verified),
                },
            )
            status = await self._overview(session, course_id)
        log.info(
            "course retry",
            extra={"course_id": course_id, "steps": len(retried), "verified": len(verified)},
        )
        self._on_change()
        return RetryOutcome(retried=retried, status=status, verified=verified)
