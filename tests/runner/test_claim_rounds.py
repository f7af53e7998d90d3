"""Claim rounds: a platform with nothing left to run is not asked again until there may be."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from provisioning.courses.service import CourseService
from provisioning.courses.spec import parse_course
from provisioning.plan import plan_course
from provisioning.runner import OVERDUE_EVERY
from tests.fakes.clocks import ManualClock
from tests.provisioning.examples import lab_course, lecture_course
from tests.runner.fakes import Script, make_runner
from tests.runner.test_runner import KINDS, states

Sessions = async_sessionmaker[AsyncSession]
# A platform the runner has an executor for but no course has a step of.
IDLE_KIND = "fax.send"


def count_statements(sessions: Sessions, matches: Callable[[str, Any], bool]) -> list[int]:
    """A one-item list counting the statements sent for which `matches(sql, params)`."""
    seen = [0]

    def before(_conn: Any, _cursor: Any, sql: str, params: Any, *_: Any) -> None:
        seen[0] += matches(sql, params)

    event.listen(sessions.kw["bind"].sync_engine, "before_cursor_execute", before)
    return seen


def count_queries_naming(sessions: Sessions, value: str) -> list[int]:
    """A one-item list counting the statements sent with `value` among their parameters."""

    def naming(_sql: str, params: Any) -> bool:
        return value in (params.values() if isinstance(params, dict) else params or ())

    return count_statements(sessions, naming)


async def test_an_idle_platform_is_asked_once_and_a_wake_brings_new_steps_at_once(
    session_factory: Sessions,
) -> None:
    """While a course runs, a platform with no step anywhere is looked up once, not at every
    round; once every platform ran dry, a course created with a wake is run at once, not after
    the idle poll."""
    script, clock = Script(), ManualClock()
    lecture = len(plan_course(parse_course(lecture_course())))
    lab = len(plan_course(parse_course(lab_course())))
    script.when_done(lecture)
    runner = make_runner(session_factory, script, clock, [*KINDS, IDLE_KIND], idle_poll_s=60)
    courses = CourseService(session_factory, clock, on_change=runner.wake)
    idle_lookups = count_queries_naming(session_factory, IDLE_KIND.split(".")[0])
    first = await courses.create(parse_course(lecture_course()), actor="test")
    stop = asyncio.Event()
    serving = asyncio.create_task(runner.serve(stop))
    try:
        await asyncio.wait_for(script.done.wait(), timeout=30)
        # The lecture's steps took many rounds; the idle platform cost one claim (two
        # queries: the overdue and the due) and one probe, not three queries a round.
        assert idle_lookups[0] <= 3 * runner.wakes + 3
        script.done.clear()
        script.when_done(lecture + lab)
        # Far sooner than the 60 s idle poll: the wake that creating a course gives is enough.
        second = await courses.create(parse_course(lab_course()), actor="test")
        await asyncio.wait_for(script.done.wait(), timeout=20)
    finally:
        stop.set()
        runner.wake()
        await asyncio.wait_for(serving, timeout=30)
    for course in (first, second):
        assert set((await states(session_factory, course.id)).values()) == {"succeeded"}


async def test_expired_leases_are_looked_for_now_and_then_not_at_every_round(
    session_factory: Sessions,
) -> None:
    """A course's many rounds look for expired leases (a dead runner's) once per platform
    while the clock stands still, and again once it has moved on by `OVERDUE_EVERY`; a wake
    naming one platform does not make an idle one be asked again."""
    script, clock = Script(), ManualClock()
    lecture = len(plan_course(parse_course(lecture_course())))
    script.when_done(lecture)
    runner = make_runner(session_factory, script, clock, [*KINDS, IDLE_KIND], idle_poll_s=60)
    courses = CourseService(session_factory, clock, on_change=runner.wake)
    platforms = {kind.split(".", 1)[0] for kind in [*KINDS, IDLE_KIND]}
    overdue_walks = count_statements(session_factory, lambda sql, _: "lease_expires_at <" in sql)
    idle_lookups = count_queries_naming(session_factory, IDLE_KIND.split(".")[0])
    await courses.create(parse_course(lecture_course()), actor="test")
    stop = asyncio.Event()
    serving = asyncio.create_task(runner.serve(stop))
    try:
        await asyncio.wait_for(script.done.wait(), timeout=30)
        assert overdue_walks[0] == len(platforms)
        idle_before = idle_lookups[0]
        for _ in range(5):
            runner.wake({"github"})
            await asyncio.sleep(0.05)
        assert idle_lookups[0] == idle_before
        clock.advance(OVERDUE_EVERY.total_seconds())
        runner.wake()
        await asyncio.sleep(0.2)
        assert overdue_walks[0] > len(platforms)
    finally:
        stop.set()
        runner.wake()
        await asyncio.wait_for(serving, timeout=30)
