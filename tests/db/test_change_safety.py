"""The safety limit of course changes, on SQLite and PostgreSQL: previews store nothing; a
change over the limit waits for a confirmation naming its number of removals."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db.models import AuditEvent, Step
from provisioning.courses.change_preview import ConfirmationRequiredError, SafetyLimit
from provisioning.courses.service import CourseService
from provisioning.courses.spec import parse_course
from tests.fakes.clocks import ManualClock

Factory = Callable[..., dict[str, Any]]
Sessions = async_sessionmaker[AsyncSession]


async def _finished(service: CourseService, sessions: Sessions, data: dict[str, Any]) -> str:
    course = await service.create(parse_course(data), actor="t")
    async with sessions.begin() as session:
        await session.execute(
            update(Step)
            .where(Step.course_id == course.id)
            .values(state="succeeded", external_id="1", attempts=1)
        )
    return course.id


async def _rows(sessions: Sessions) -> tuple[int, int]:
    async with sessions() as session:
        steps = await session.scalar(select(func.count()).select_from(Step))
        events = await session.scalar(select(func.count()).select_from(AuditEvent))
    return int(steps or 0), int(events or 0)


async def test_dropping_40_percent_is_refused_without_confirmation_and_applied_with_it(
    session_factory: Sessions, clock: ManualClock, course_data: Factory
) -> None:
    """A roster of 5 that drops 2: the preview counts 2 removals and asks for confirmation
    (and stores nothing); the update without it, or with another number, is refused with
    nothing changed; with `confirm_removals=2` it is applied."""
    service = CourseService(session_factory, clock)
    data = course_data(students=5)
    course_id = await _finished(service, session_factory, data)
    smaller = copy.deepcopy(data)
    del smaller["students"][3:]
    new = parse_course(smaller)
    before = await _rows(session_factory)

    preview = await service.preview(course_id, new)
    assert preview.confirmation_needed
    assert preview.removals == 2
    assert preview.people.students_dropped == ["student-3", "student-4"]
    assert preview.reasons == ["2 of 5 students dropped, over the limit of 10%"]
    assert await _rows(session_factory) == before

    for confirm in (None, 1, 3):
        with pytest.raises(ConfirmationRequiredError) as caught:
            await service.update(course_id, new, actor="t", confirm_removals=confirm)
        assert caught.value.removals == 2
        assert caught.value.status == 409
    assert await _rows(session_factory) == before
    assert (await service.get(course_id)).spec == parse_course(data)

    done = await service.update(course_id, new, actor="t", confirm_removals=2)
    assert done.retired == ["github.invite:students:student-3", "github.invite:students:student-4"]
    assert (await service.get(course_id)).spec == new


async def test_a_small_drop_or_a_never_provisioned_one_needs_no_confirmation(
    session_factory: Sessions, clock: ManualClock, course_data: Factory
) -> None:
    """1 of 20 students (5%) is under the limit; dropping students nothing was made for yet
    removes nothing at all."""
    service = CourseService(session_factory, clock)
    data = course_data(students=20)
    course_id = await _finished(service, session_factory, data)
    one_less = copy.deepcopy(data)
    one_less["students"].pop()
    preview = await service.preview(course_id, parse_course(one_less))
    assert (preview.confirmation_needed, preview.removals) == (False, 1)
    await service.update(course_id, parse_course(one_less), actor="t")

    fresh = await service.create(parse_course(course_data(code="CS102")), actor="t")
    half = course_data(code="CS102")
    del half["students"][1:]
    preview = await service.preview(fresh.id, parse_course(half))
    assert (preview.confirmation_needed, preview.removals) == (False, 0)
    # Each dropped student's invitation and join e-mail: nothing was made, so nothing to undo.
    assert [r.removal for r in preview.resources if r.change == "removed"] == [None] * 4


async def test_archiving_a_repository_needs_confirmation_unless_configured_otherwise(
    session_factory: Sessions, clock: ManualClock, course_data: Factory
) -> None:
    """Removing a provisioned lab group archives its repository: confirmation needed by
    default, not with `confirm_archive=False`; the preview says what each removal does."""
    data = course_data(kind="laboratory", groups=2, students=20)
    service = CourseService(session_factory, clock)
    course_id = await _finished(service, session_factory, data)
    fewer = copy.deepcopy(data)
    fewer["groups"] = ["lab-01"]
    for student in fewer["students"]:
        student["group"] = "lab-01"
    new = parse_course(fewer)
    preview = await service.preview(course_id, new)
    assert preview.confirmation_needed
    assert preview.repositories_archived == ["cs101-2027-spring-lab-02"]
    removals = {r.key: r.removal for r in preview.resources if r.change == "removed"}
    assert removals["github.repo:lab-02"] == "repository archived (read-only, kept)"
    assert removals["discord.channel:lab-02"] == "channel hidden from students (kept for staff)"
    assert removals["discord.invite:lab-02"] == "invite link revoked"
    assert removals["github.team:lab-02"] is None

    relaxed = CourseService(session_factory, clock, safety=SafetyLimit(confirm_archive=False))
    assert not (await relaxed.preview(course_id, new)).confirmation_needed
    done = await relaxed.update(course_id, new, actor="t")
    assert "github.repo:lab-02" in done.retired
