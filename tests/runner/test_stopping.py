"""Stopping: steps waiting for their platform's pace are handed back at once; a step with a
call in flight may finish it, for at most the drain period."""

from __future__ import annotations

import asyncio
import time

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db.models import Step
from provisioning.clock import SystemClock
from provisioning.courses.service import CourseService
from provisioning.courses.spec import parse_course
from provisioning.governor import GovernorLimits, RateGovernor
from provisioning.step import StepContext, StepResult
from tests.fakes.clocks import ManualClock
from tests.provisioning.examples import lecture_course
from tests.runner.fakes import Script, make_runner

Sessions = async_sessionmaker[AsyncSession]
CALL_S = 0.3


async def test_stop_hands_back_pace_waits_at_once_and_lets_calls_finish(
    session_factory: Sessions,
) -> None:
    """GitHub steps queue for writes a second apart on a real governor; one Discord step is
    "in a call" (0.3 s). Stopping returns once that call is done, well before the one-second
    drain period and the queued writes: the call's step succeeded, the waiting ones are
    pending again with their attempt not counted, none left running."""
    course = await CourseService(session_factory, ManualClock()).create(
        parse_course(lecture_course()), actor="test"
    )
    governor = RateGovernor("github", GovernorLimits.github(), SystemClock())
    in_call = asyncio.Event()

    async def github_write(ctx: StepContext) -> StepResult:
        mark = await governor.acquire("core", write=True)
        if mark is not None:
            await governor.sent(mark, 0.0)  # it left at once (no HTTP here)
        governor.observe("core", {})
        return StepResult(f"id-{ctx.step.key}", {})

    async def discord_call(ctx: StepContext) -> StepResult:
        in_call.set()
        await asyncio.sleep(CALL_S)  # the answer is on its way
        return StepResult(f"id-{ctx.step.key}", {})

    async with session_factory() as session:
        kinds = set((await session.scalars(select(Step.kind))).all())
    executors = {
        kind: github_write if kind.startswith("github.") else discord_call for kind in kinds
    }
    runner = make_runner(
        session_factory, Script(), ManualClock(), [], executors, concurrency=8, drain_s=1.0
    )
    stop = asyncio.Event()
    serving = asyncio.create_task(runner.serve(stop))
    await asyncio.wait_for(in_call.wait(), 10)
    await asyncio.sleep(0.1)  # GitHub steps queue for their write slots meanwhile
    stopping = time.monotonic()
    stop.set()
    await asyncio.wait_for(serving, 10)
    took = time.monotonic() - stopping

    async with session_factory() as session:
        steps = (await session.scalars(select(Step).where(Step.course_id == course.id))).all()
    states = {s.key: s.state for s in steps}
    assert "running" not in states.values(), states
    assert states["discord.server"] == "succeeded", states
    handed_back = [s for s in steps if s.key.startswith("github.") and s.state == "pending"]
    assert len(handed_back) >= 2, states
    assert all(s.attempts == 0 and s.lease_owner is None for s in handed_back)
    assert took < 1.0, took
