"""A runner that stops hands back the steps it leased: pending, due, their attempt not counted."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db import step_queue
from db.models import AuditEvent, Step
from provisioning.courses.service import CourseService
from provisioning.courses.spec import parse_course
from tests.fakes.clocks import ManualClock

Factory = Callable[..., dict[str, Any]]
Sessions = async_sessionmaker[AsyncSession]
NOW = datetime(2027, 1, 10, 9, 0, tzinfo=UTC)
LEASE = timedelta(seconds=60)


async def test_hand_back_releases_only_this_runners_running_steps(
    session_factory: Sessions, course_data: Factory
) -> None:
    """Two runners lease steps; the one stopping hands back its own: pending, due now, lease
    cleared, attempt uncounted, a `step.handed_back` event each; the other's stay leased."""
    service = CourseService(session_factory, ManualClock(NOW - timedelta(minutes=1)))
    course_id = (await service.create(parse_course(course_data()), actor="t")).id
    async with session_factory.begin() as session:
        mine = await step_queue.claim(session, owner="a", now=NOW, lease=LEASE, limit=2)
    async with session_factory.begin() as session:
        theirs = await step_queue.claim(session, owner="b", now=NOW, lease=LEASE, limit=1)
    later = NOW + timedelta(seconds=5)
    async with session_factory.begin() as session:
        keys = await step_queue.hand_back(
            session, [s.id for s in mine + theirs], owner="a", now=later
        )
    assert sorted(keys) == sorted(s.key for s in mine)

    async with session_factory() as session:
        rows = {
            s.key: s
            for s in (await session.scalars(select(Step).where(Step.course_id == course_id)))
        }
        events = (
            await session.scalars(
                select(AuditEvent.step_key).where(AuditEvent.event == "step.handed_back")
            )
        ).all()
    for step in mine:
        row = rows[step.key]
        assert (row.state, row.attempts, row.lease_owner) == ("pending", 0, None)
        assert row.next_attempt_at == later
    (other,) = theirs
    assert (rows[other.key].state, rows[other.key].lease_owner) == ("running", "b")
    assert sorted(events) == sorted(keys)
