"""Courses as the status page lists them: newest first, filtered by term and state, each with
its progress, last activity and how many steps wait for a person."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db.models import Course, Step
from provisioning.courses.views import CourseState, decode_cursor, derive_state, encode_cursor

# Courses read per query while a state filter skips some; a department has hundreds of courses
# a term, so a few batches cover any page.
_BATCH = 100


@dataclass(frozen=True)
class CourseRow:
    """One course in the list."""

    id: str
    code: str
    term: str
    title: str
    kind: str
    state: CourseState
    steps: int
    done: int
    waiting: int
    created_at: datetime
    last_activity: datetime

    @property
    def percent(self) -> int:
        return round(100 * self.done / self.steps) if self.steps else 100


@dataclass(frozen=True)
class CourseListing:
    """One page; `next_cursor` continues it (older courses), None on the last page."""

    rows: list[CourseRow]
    next_cursor: str | None


class CourseOverview:
    """Reads only; every method is one short read."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions

    async def terms(self) -> list[str]:
        """Every term a course exists for, newest name first (terms sort as 2026-fall)."""
        async with self._sessions() as session:
            found = (await session.scalars(select(Course.term).distinct())).all()
        return sorted(found, reverse=True)

    async def page(
        self,
        *,
        term: str | None = None,
        state: str | None = None,
        limit: int = 20,
        cursor: str | None = None,
    ) -> CourseListing:
        """Up to `limit` courses older than `cursor`, newest first, of `term` and in `state`
        (the state derived from the steps, so the filter runs after the derivation)."""
        after = decode_cursor(cursor) if cursor else None
        rows: list[CourseRow] = []
        async with self._sessions() as session:
            while len(rows) <= limit:
                batch = await self._batch(session, term, after)
                for row in batch:
                    if state is None or row.state == state:
                        rows.append(row)
                if len(batch) < _BATCH:
                    break
                after = (batch[-1].created_at, batch[-1].id)
        more = len(rows) > limit
        rows = rows[:limit]
        next_cursor = encode_cursor(rows[-1].created_at, rows[-1].id) if more else None
        return CourseListing(rows, next_cursor)

    async def _batch(
        self, session: AsyncSession, term: str | None, after: tuple[datetime, str] | None
    ) -> list[CourseRow]:
        query = select(Course).order_by(Course.created_at.desc(), Course.id.desc()).limit(_BATCH)
        if term:
            query = query.where(Course.term == term)
        if after is not None:
            query = query.where(tuple_(Course.created_at, Course.id) < tuple_(*after))
        courses = (await session.scalars(query)).all()
        if not courses:
            return []
        counts = await session.execute(
            select(Step.course_id, Step.state, func.count(), func.max(Step.updated_at))
            .where(Step.course_id.in_([c.id for c in courses]))
            .group_by(Step.course_id, Step.state)
        )
        by_course: defaultdict[str, dict[str, int]] = defaultdict(dict)
        latest: dict[str, datetime] = {}
        for course_id, step_state, n, updated in counts:
            by_course[course_id][step_state] = n
            if updated is not None and (course_id not in latest or updated > latest[course_id]):
                latest[course_id] = updated
        return [
            CourseRow(
                id=c.id,
                code=c.code,
                term=c.term,
                title=c.title,
                kind=c.kind,
                state=derive_state(list(by_course[c.id])),
                steps=sum(by_course[c.id].values()),
                done=by_course[c.id].get("succeeded", 0),
                waiting=by_course[c.id].get("awaiting_action", 0),
                created_at=c.created_at,
                last_activity=latest.get(c.id, c.created_at),
            )
            for c in courses
        ]
