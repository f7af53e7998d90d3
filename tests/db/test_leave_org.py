"""Who leaves the GitHub organization with a course (SQLite and PostgreSQL): only people the
course invited, listed by no other course of the organization, and only when configured."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db.models import Step
from provisioning.courses.service import CourseService
from provisioning.courses.spec import parse_course
from tests.fakes.clocks import ManualClock

Factory = Callable[..., dict[str, Any]]
Sessions = async_sessionmaker[AsyncSession]


async def _invited(service: CourseService, sessions: Sessions, data: dict[str, Any]) -> str:
    """A course whose steps all succeeded, every invite having sent an org invitation."""
    course = await service.create(parse_course(data), actor="t")
    async with sessions.begin() as session:
        await session.execute(
            update(Step)
            .where(Step.course_id == course.id)
            .values(state="succeeded", external_id="1", attempts=1)
        )
        await session.execute(
            update(Step)
            .where(Step.course_id == course.id, Step.kind == "github.invite")
            .values(facts={"team": "t", "state": "pending", "invited_org": True})
        )
    return course.id


async def _leave_org(sessions: Sessions, course_id: str) -> dict[str, bool]:
    async with sessions() as session:
        rows = await session.scalars(
            select(Step).where(Step.course_id == course_id, Step.kind == "github.uninvite")
        )
        return {str(r.params["login"]): bool(r.params["leave_org"]) for r in rows}


async def test_only_people_in_no_other_course_of_the_org_leave_it(
    session_factory: Sessions, clock: ManualClock, course_data: Factory
) -> None:
    """Two students dropped: the one another course of the same organization lists keeps
    the organization, the other leaves it; a course of another organization does not count."""
    service = CourseService(session_factory, clock)
    data = course_data(students=4)
    course_id = await _invited(service, session_factory, data)
    other = course_data(code="CS102", students=0)
    other["students"] = [{"name": "Shared", "github": "student-1"}]
    await service.create(parse_course(other), actor="t")
    elsewhere = course_data(code="CS103", students=0)
    elsewhere["github_org"] = "another-org"
    elsewhere["students"] = [{"name": "Shared", "github": "student-2"}]
    await service.create(parse_course(elsewhere), actor="t")

    dropped = copy.deepcopy(data)
    del dropped["students"][1:3]
    preview = await service.preview(course_id, parse_course(dropped))
    removals = {r.key: r.removal for r in preview.resources}
    assert removals["github.invite:students:student-2"] == (
        "team membership ended; leaves the organization (the course invited them)"
    )
    await service.update(course_id, parse_course(dropped), actor="t", confirm_removals=2)
    assert await _leave_org(session_factory, course_id) == {
        "student-1": False,
        "student-2": True,
    }


async def test_configured_off_nobody_leaves_the_org(
    session_factory: Sessions, clock: ManualClock, course_data: Factory
) -> None:
    """With `leave_org=False` a dropped student's organization membership is left alone."""
    service = CourseService(session_factory, clock, leave_org=False)
    data = course_data(students=3)
    course_id = await _invited(service, session_factory, data)
    dropped = copy.deepcopy(data)
    dropped["students"].pop()
    await service.update(course_id, parse_course(dropped), actor="t", confirm_removals=1)
    assert await _leave_org(session_factory, course_id) == {"student-2": False}
