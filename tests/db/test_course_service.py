"""The course service on SQLite and PostgreSQL: one-transaction create, conflicts, status, retry."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db import audit_chain
from db.models import AuditEvent, Course, LabGroup, Member, Step
from provisioning.courses.service import CourseService, InvalidCursorError, derive_state
from provisioning.courses.spec import CourseSpec, parse_course
from provisioning.errors import CourseConflictError, CourseNotFoundError, NothingToRetryError
from provisioning.plan import PlannedStep, plan_course
from tests.fakes.clocks import ManualClock

Factory = Callable[..., dict[str, Any]]
Sessions = async_sessionmaker[AsyncSession]


async def _count(sessions: Sessions, model: type[Any]) -> int:
    async with sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


async def _set_states(sessions: Sessions, course_id: str, states: dict[str, str]) -> None:
    async with sessions.begin() as session:
        for key, state in states.items():
            await session.execute(
                update(Step)
                .where(Step.course_id == course_id, Step.key == key)
                .values(state=state, attempts=3, last_error="boom")
            )


async def test_create_stores_course_members_groups_steps_and_event(
    session_factory: Sessions, clock: ManualClock, course_data: Factory
) -> None:
    """Creating a course stores it, its people, groups, pending plan steps and one audit event."""
    spec = parse_course(course_data(kind="laboratory", students=4, groups=2))
    record = await CourseService(session_factory, clock).create(spec, actor="api:ops")
    assert record.spec == spec
    assert await _count(session_factory, Member) == 6
    assert await _count(session_factory, LabGroup) == 2
    async with session_factory() as session:
        steps = (await session.scalars(select(Step).order_by(Step.position))).all()
        event = await session.scalar(select(AuditEvent))
    assert [s.key for s in steps] == [s.key for s in plan_course(spec)]
    assert {s.state for s in steps} == {"pending"}
    assert event is not None
    assert (event.event, event.actor, event.course_id) == ("course.created", "api:ops", record.id)


async def test_failure_midway_leaves_nothing(
    session_factory: Sessions, clock: ManualClock, course_data: Factory
) -> None:
    """If storing the steps fails after the course row was written, nothing at all remains."""

    def broken_planner(spec: CourseSpec) -> list[PlannedStep]:
        step = plan_course(spec)[0]
        return [step, step]  # a duplicate key violates uq_steps_course_id_key at flush

    service = CourseService(session_factory, clock, planner=broken_planner)
    with pytest.raises(IntegrityError):
        await service.create(parse_course(course_data()), actor="t")
    for model in (Course, Member, LabGroup, Step, AuditEvent):
        assert await _count(session_factory, model) == 0


async def test_same_code_and_term_conflicts_with_existing_id(
    session_factory: Sessions, clock: ManualClock, course_data: Factory
) -> None:
    """A second course with the same code and term is refused with the first one's id."""
    service = CourseService(session_factory, clock)
    first = await service.create(parse_course(course_data()), actor="t")
    with pytest.raises(CourseConflictError) as caught:
        await service.create(parse_course(course_data()), actor="t")
    assert caught.value.course_id == first.id
    assert await _count(session_factory, Course) == 1


async def test_concurrent_creates_give_one_course_and_one_conflict(
    session_factory: Sessions, clock: ManualClock, course_data: Factory
) -> None:
    """Two simultaneous creates of the same course: one wins, the other gets a conflict."""
    spec = parse_course(course_data())
    services = [CourseService(session_factory, clock), CourseService(session_factory, clock)]
    results = await asyncio.gather(*(s.create(spec, "t") for s in services), return_exceptions=True)
    winners = [r for r in results if not isinstance(r, BaseException)]
    losers = [r for r in results if isinstance(r, CourseConflictError)]
    assert len(winners) == 1
    assert len(losers) == 1
    assert losers[0].course_id == winners[0].id


async def test_list_pages_through_every_course_once(
    session_factory: Sessions, clock: ManualClock, course_data: Factory
) -> None:
    """Paging with the returned cursor visits each course exactly once, in creation order."""
    service = CourseService(session_factory, clock)
    created = [
        (await service.create(parse_course(course_data(code=f"CS{100 + i}")), "t")).id
        for i in range(5)
    ]
    seen: list[str] = []
    cursor: str | None = None
    while True:
        page = await service.list(limit=2, cursor=cursor)
        seen += [c.id for c in page.items]
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
    assert seen == created


async def test_bad_cursor_is_rejected(session_factory: Sessions, clock: ManualClock) -> None:
    """A cursor the service did not hand out is an InvalidCursorError (HTTP 400)."""
    with pytest.raises(InvalidCursorError):
        await CourseService(session_factory, clock).list(cursor="not-a-cursor")


async def test_unknown_course_is_not_found(session_factory: Sessions, clock: ManualClock) -> None:
    """get, status and retry of an unknown id raise CourseNotFoundError."""
    service = CourseService(session_factory, clock)
    for call in (service.get("nope"), service.status("nope"), service.retry("nope", "t")):
        with pytest.raises(CourseNotFoundError):
            await call


async def test_status_is_derived_from_steps(
    session_factory: Sessions, clock: ManualClock, course_data: Factory
) -> None:
    """Status counts steps per state and derives the course state from them."""
    service = CourseService(session_factory, clock)
    course = await service.create(parse_course(course_data()), "t")
    status = await service.status(course.id)
    assert status.state == "pending"
    keys = [s.key for s in status.steps]
    await _set_states(session_factory, course.id, {keys[0]: "succeeded", keys[1]: "failed"})
    status = await service.status(course.id)
    assert status.state == "failed"
    assert status.counts["failed"] == 1
    assert status.counts["succeeded"] == 1
    assert status.counts["pending"] == len(keys) - 2
    assert status.steps[1].last_error == "boom"


@pytest.mark.parametrize(
    ("states", "expected"),
    [
        ([], "succeeded"),
        (["succeeded", "succeeded"], "succeeded"),
        (["pending", "pending"], "pending"),
        (["pending", "succeeded"], "in_progress"),
        (["running", "pending"], "in_progress"),
        (["awaiting_action", "running"], "awaiting_action"),
        (["awaiting_action", "blocked"], "failed"),
        (["failed", "succeeded"], "failed"),
    ],
)
def test_derive_state_table(states: list[str], expected: str) -> None:
    """Failures outrank waiting, waiting outranks progress, all done is succeeded."""
    assert derive_state(states) == expected


async def test_retry_resets_failed_blocked_and_waiting_steps(
    session_factory: Sessions, clock: ManualClock, course_data: Factory
) -> None:
    """Retry sends failed, blocked and waiting steps back to pending, due now, and logs it."""
    service = CourseService(session_factory, clock)
    course = await service.create(parse_course(course_data()), "t")
    keys = [s.key for s in (await service.status(course.id)).steps]
    await _set_states(
        session_factory,
        course.id,
        {keys[0]: "succeeded", keys[1]: "failed", keys[2]: "blocked", keys[3]: "awaiting_action"},
    )
    outcome = await service.retry(course.id, actor="api:ops")
    assert outcome.retried == sorted(keys[1:4])
    assert outcome.verified == [keys[0]]
    assert outcome.status.state == "pending"
    assert outcome.status.summary.counts["pending"] == len(keys)
    steps = (await service.status(course.id)).steps
    retried = [s for s in steps if s.key in outcome.retried]
    assert {(s.state, s.attempts) for s in retried} == {("pending", 0)}
    assert all(s.next_attempt_at is not None for s in retried)
    with pytest.raises(NothingToRetryError):
        await service.retry(course.id, actor="api:ops")
    async with session_factory() as session:
        events = (await session.scalars(select(AuditEvent.event).order_by(AuditEvent.id))).all()
        assert (await audit_chain.verify(session)).ok
    assert events == ["course.created", "course.retry_requested"]


async def test_retry_sends_finished_steps_back_to_be_verified_keeping_what_they_made(
    session_factory: Sessions, clock: ManualClock, course_data: Factory
) -> None:
    """Finished steps go back to pending with their ids and facts; running ones stay put."""
    service = CourseService(session_factory, clock)
    course = await service.create(parse_course(course_data()), "t")
    keys = [s.key for s in (await service.status(course.id)).steps]
    done, running, failed = keys[0], keys[1], keys[2]
    async with session_factory.begin() as session:
        await session.execute(
            update(Step)
            .where(Step.course_id == course.id, Step.key.in_([*keys[3:], done]))
            .values(state="succeeded", attempts=2, external_id="ext-1", facts={"slug": "s"})
        )
        await session.execute(
            update(Step)
            .where(Step.course_id == course.id, Step.key == running)
            .values(state="running", lease_owner="runner-1")
        )
    with pytest.raises(NothingToRetryError):
        await service.retry(course.id, actor="api:ops")
    states = {s.key: s.state for s in (await service.status(course.id)).steps}
    assert states[done] == "succeeded"

    await _set_states(session_factory, course.id, {failed: "failed"})
    outcome = await service.retry(course.id, actor="api:ops")
    assert outcome.retried == [failed]
    assert outcome.verified == sorted([*keys[3:], done])
    by_key = {s.key: s for s in (await service.status(course.id)).steps}
    assert by_key[running].state == "running"
    for key in outcome.verified:
        assert (by_key[key].state, by_key[key].attempts) == ("pending", 0)
        assert by_key[key].external_id == "ext-1"
        assert by_key[key].next_attempt_at is not None
    async with session_factory() as session:
        facts = (
            await session.scalars(
                select(Step.facts).where(Step.course_id == course.id, Step.key == done)
            )
        ).one()
        summary = await session.scalar(
            select(AuditEvent.request_summary).where(AuditEvent.event == "course.retry_requested")
        )
    assert facts == {"slug": "s"}
    assert summary == {"count": 1, "steps": [failed], "verified": len(outcome.verified)}
