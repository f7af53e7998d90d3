"""The step queue's claim on SQLite and PostgreSQL: what a claimed step carries, at what cost."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import event, select, update
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from db import step_queue
from db.models import Course, Step
from db.step_queue import Produced
from provisioning.courses.service import CourseService
from provisioning.courses.spec import parse_course
from tests.fakes.clocks import ManualClock

Factory = Callable[..., dict[str, Any]]
Sessions = async_sessionmaker[AsyncSession]
NOW = datetime(2027, 1, 10, 9, 0, tzinfo=UTC)
ROLES = ("discord.role:instructor", "discord.role:ta", "discord.role:student")
ORDER = "discord.role-order"  # the one step that depends on all three roles


async def _only_role_order_due(sessions: Sessions, course_id: str) -> None:
    """Every step succeeded but the role order; role:ta stored no facts."""
    async with sessions.begin() as session:
        steps = (await session.scalars(select(Step).where(Step.course_id == course_id))).all()
        for step in steps:
            if step.key != ORDER:
                step.state = "succeeded"
                step.external_id = f"{course_id}:{step.key}"
                step.facts = None if step.key == "discord.role:ta" else {"key": step.key}


@contextmanager
def _statements(engine: AsyncEngine) -> Iterator[list[str]]:
    """The SQL statements sent while the block runs."""
    sent: list[str] = []

    def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        sent.append(" ".join(statement.split()))

    event.listen(engine.sync_engine, "before_cursor_execute", record)
    try:
        yield sent
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", record)


async def test_claimed_step_carries_its_spec_and_its_dependencies_results(
    session_factory: Sessions, course_data: Factory
) -> None:
    """Each claimed step comes with its own course's stored spec and, by key, the external id
    and facts of each dependency (no facts stored reads as none)."""
    service = CourseService(session_factory, ManualClock(NOW - timedelta(minutes=1)))
    course_ids = [
        (await service.create(parse_course(course_data(code=code)), actor="t")).id
        for code in ("CS101", "CS102")
    ]
    for course_id in course_ids:
        await _only_role_order_due(session_factory, course_id)
    async with session_factory.begin() as session:
        claimed = await step_queue.claim(
            session, owner="r", now=NOW, lease=timedelta(seconds=60), limit=10
        )
    async with session_factory() as session:
        specs = dict((await session.execute(select(Course.id, Course.spec))).all())
    assert sorted((c.course_id, c.key) for c in claimed) == sorted(
        (course_id, ORDER) for course_id in course_ids
    )
    for step in claimed:
        assert step.spec == specs[step.course_id]
        assert step.spec["code"] in ("CS101", "CS102")
        assert step.dependencies == {
            key: Produced(f"{step.course_id}:{key}", {} if key.endswith(":ta") else {"key": key})
            for key in ROLES
        }


async def test_claim_reads_specs_and_dependencies_once_however_many_steps(
    engine: AsyncEngine, session_factory: Sessions, course_data: Factory
) -> None:
    """Claiming eight steps of two courses reads the courses once and the steps three times (the
    claim's two index walks, the second inside the UPDATE that leases what it finds, then
    every dependency of every claimed step), not once per step."""
    service = CourseService(session_factory, ManualClock(NOW - timedelta(minutes=1)))
    for code in ("CS101", "CS102"):
        course = await service.create(parse_course(course_data(code=code)), actor="t")
        async with session_factory.begin() as session:
            # Teams done: each course has its invites and the repository due, most with a
            # dependency to read.
            await session.execute(
                update(Step)
                .where(Step.course_id == course.id, Step.kind == "github.team")
                .values(state="succeeded", external_id="team")
            )
    with _statements(engine) as sent:
        async with session_factory.begin() as session:
            claimed = await step_queue.claim(
                session, owner="r", now=NOW, lease=timedelta(seconds=60), limit=8
            )
    assert len(claimed) == 8
    assert len({c.course_id for c in claimed}) == 2
    assert sum(len(c.dependencies) for c in claimed) >= 4
    reads = [s for s in sent if s.startswith("SELECT")]
    assert len([s for s in reads if "FROM courses" in s]) == 1
    assert len([s for s in reads if "FROM steps" in s]) == 2
    leases = [s for s in sent if s.startswith("UPDATE steps SET state")]
    assert len(leases) == 1, leases
    assert "FROM steps" in leases[0]


async def test_claiming_nothing_reads_nothing_more(
    engine: AsyncEngine, session_factory: Sessions
) -> None:
    """With no step due, the claim neither reads courses nor looks for dependencies."""
    with _statements(engine) as sent:
        async with session_factory.begin() as session:
            claimed = await step_queue.claim(
                session, owner="r", now=NOW, lease=timedelta(seconds=60), limit=8
            )
    assert claimed == []
    assert not [s for s in sent if "FROM courses" in s]
    # The two walks: the overdue's SELECT, the due one's inside the UPDATE that leases.
    assert len([s for s in sent if "FROM steps" in s]) == 2
    assert not [s for s in sent if "step_dependencies" in s or "audit_events" in s]
