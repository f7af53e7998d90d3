"""Previews waiting for Confirm: a new course (`/course create`), a new roster (`/course
roster`), archiving or unarchiving a course (`/course archive`, `/course unarchive`), stored
so that the click applies exactly what was shown, once.

Confirm is idempotent the way `POST /courses` with an `Idempotency-Key` is: the draft id is the
key, and the course it made is stored in the same transaction as the course itself. A second
click, a click after a restart, or two clicks racing all end in one course; the later ones get
the first one's answer (`Confirmed.created` is False).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db.models import CourseDraft
from provisioning.clock import Clock
from provisioning.courses.service import CourseService
from provisioning.courses.spec import CourseSpec
from provisioning.courses.views import CourseRecord, CourseUpdate
from provisioning.errors import CourseConflictError, ProvisioningError

# A preview older than this is stale: the course or the roster may have changed meanwhile.
DRAFT_TTL = timedelta(days=1)


class DraftNotFoundError(ProvisioningError):
    """The preview is unknown, too old, or already cancelled."""

    status = 404
    title = "Preview no longer valid"


@dataclass(frozen=True)
class Draft:
    id: str
    kind: str
    spec: CourseSpec
    course_id: str | None
    decision: str | None
    confirm_removals: int | None = None


@dataclass(frozen=True)
class Confirmed:
    """The course a confirmed creation made; `created` is False when an earlier click did."""

    course: CourseRecord
    created: bool


@dataclass(frozen=True)
class RosterApplied:
    """The roster change a click applied, or None when an earlier click applied it."""

    course: CourseRecord
    update: CourseUpdate | None


@dataclass(frozen=True)
class ArchiveApplied:
    """The archiving (or unarchiving) a click applied, or None when an earlier click did."""

    course: CourseRecord
    update: CourseUpdate | None
    archived: bool


def _draft(row: CourseDraft) -> Draft:
    return Draft(
        row.id,
        row.kind,
        CourseSpec.model_validate(row.spec),
        row.course_id,
        row.decision,
        row.confirm_removals,
    )


class DraftService:
    """Stores previews and applies them once, through the course service."""

    def __init__(
        self, sessions: async_sessionmaker[AsyncSession], clock: Clock, courses: CourseService
    ) -> None:
        self._sessions = sessions
        self._clock = clock
        self._courses = courses

    async def propose(
        self,
        kind: str,
        spec: CourseSpec,
        actor: str,
        course_id: str | None = None,
        confirm_removals: int | None = None,
    ) -> Draft:
        """Store a validated description awaiting Confirm (`course_id`: the course a roster
        change is for; `confirm_removals`: the removals over the safety limit the preview
        showed, which Confirm then confirms)."""
        row = CourseDraft(
            id=str(uuid.uuid4()),
            kind=kind,
            spec=spec.model_dump(mode="json"),
            actor=actor,
            created_at=self._clock.now(),
            course_id=course_id,
            confirm_removals=confirm_removals,
        )
        async with self._sessions.begin() as session:
            session.add(row)
        return _draft(row)

    async def get(self, draft_id: str) -> Draft:
        """The draft, unless it is unknown, expired or cancelled (DraftNotFoundError)."""
        async with self._sessions() as session:
            row = await session.get(CourseDraft, draft_id)
        if row is None or row.decision == "cancelled":
            raise DraftNotFoundError(
                "this preview was cancelled or is unknown: run the command again"
            )
        if row.decision is None and self._clock.now() - row.created_at > DRAFT_TTL:
            raise DraftNotFoundError("this preview is more than a day old: run the command again")
        return _draft(row)

    async def confirm_course(self, draft_id: str, actor: str) -> Confirmed:
        """Create the course of a `create` draft, once."""
        draft = await self.get(draft_id)
        if draft.course_id is not None:
            return Confirmed(await self._courses.get(draft.course_id), created=False)

        async def mark(session: AsyncSession, record: CourseRecord) -> None:
            done = await session.execute(
                update(CourseDraft)
                .where(CourseDraft.id == draft_id, CourseDraft.course_id.is_(None))
                .values(course_id=record.id, decision="confirmed", decided_at=self._clock.now())
            )
            if done.rowcount != 1:  # type: ignore[attr-defined]
                # Another click won between our read and this write: undo this course.
                raise _AlreadyConfirmedError

        try:
            record = await self._courses.create(draft.spec, actor, within=mark)
        except (_AlreadyConfirmedError, CourseConflictError) as exc:
            again = await self.get(draft_id)
            if again.course_id is None:
                raise exc if isinstance(exc, CourseConflictError) else RuntimeError(exc) from exc
            return Confirmed(await self._courses.get(again.course_id), created=False)
        return Confirmed(record, created=True)

    async def confirm_roster(self, draft_id: str, actor: str) -> RosterApplied:
        """Apply a `roster` draft to its course, once."""
        draft = await self.get(draft_id)
        assert draft.course_id is not None, "a roster draft names its course"
        if draft.decision == "confirmed":
            return RosterApplied(await self._courses.get(draft.course_id), None)
        won = False

        async def mark(session: AsyncSession, outcome: CourseUpdate) -> None:
            nonlocal won
            done = await session.execute(
                update(CourseDraft)
                .where(CourseDraft.id == draft_id, CourseDraft.decision.is_(None))
                .values(decision="confirmed", decided_at=self._clock.now())
            )
            if done.rowcount != 1:  # type: ignore[attr-defined]
                raise _AlreadyConfirmedError
            won = True

        try:
            outcome = await self._courses.update(
                draft.course_id,
                draft.spec,
                actor,
                within=mark,
                confirm_removals=draft.confirm_removals,
            )
        except _AlreadyConfirmedError:
            await self.get(draft_id)  # a Cancel that won is DraftNotFoundError, not "done"
            return RosterApplied(await self._courses.get(draft.course_id), None)
        assert won
        return RosterApplied(outcome.course, outcome)

    async def confirm_archive(self, draft_id: str, actor: str) -> ArchiveApplied:
        """Archive (an `archive` draft) or unarchive (an `unarchive` draft) its course, once:
        the draft is marked confirmed in the course change's own transaction."""
        draft = await self.get(draft_id)
        assert draft.course_id is not None, "an archive draft names its course"
        archived = draft.kind == "archive"
        if draft.decision == "confirmed":
            return ArchiveApplied(await self._courses.get(draft.course_id), None, archived)

        async def mark(session: AsyncSession, outcome: CourseUpdate) -> None:
            done = await session.execute(
                update(CourseDraft)
                .where(CourseDraft.id == draft_id, CourseDraft.decision.is_(None))
                .values(decision="confirmed", decided_at=self._clock.now())
            )
            if done.rowcount != 1:  # type: ignore[attr-defined]
                raise _AlreadyConfirmedError

        apply = self._courses.archive if archived else self._courses.unarchive
        try:
            outcome = await apply(draft.course_id, actor, within=mark)
        except _AlreadyConfirmedError:
            await self.get(draft_id)  # a Cancel that won is DraftNotFoundError, not "done"
            return ArchiveApplied(await self._courses.get(draft.course_id), None, archived)
        return ArchiveApplied(outcome.course, outcome, archived)

    async def cancel(self, draft_id: str) -> bool:
        """Cancel a draft not yet confirmed; False if it was confirmed already."""
        async with self._sessions.begin() as session:
            done = await session.execute(
                update(CourseDraft)
                .where(CourseDraft.id == draft_id, CourseDraft.decision.is_(None))
                .values(decision="cancelled", decided_at=self._clock.now())
            )
        return bool(done.rowcount)  # type: ignore[attr-defined]


class _AlreadyConfirmedError(Exception):
    """An earlier click confirmed the draft; roll this one's work back."""
