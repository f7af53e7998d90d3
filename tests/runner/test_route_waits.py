"""A step waiting for one route's window (Discord's channel creations in one server) does not
keep its runner slot from serving the platform's other steps meanwhile."""

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
# Long enough for the other steps to run in, on a loaded CI machine.
WINDOW_S = 2.0
SPENT = "POST /guilds/{guild_id}/channels:1::"


async def run_lecture(
    sessions: Sessions, limits: GovernorLimits
) -> tuple[dict[str, float], float, int]:
    """Run a lecture's steps, one Discord slot, on a governor whose channel-creation bucket
    of the server is spent for `WINDOW_S` when the announcements channel's step comes to call:
    that step waits for it, every other step calls routes of their own at once. Returns when
    each Discord step ended, when the announcements step's wait ended, and the most Discord
    steps in flight."""
    course = await CourseService(sessions, ManualClock()).create(
        parse_course(lecture_course()), actor="test"
    )
    governor = RateGovernor("discord", limits, SystemClock())
    ended: dict[str, float] = {}
    waited_until: list[float] = []
    in_flight = most = 0

    async def discord_step(ctx: StepContext) -> StepResult:
        nonlocal in_flight, most
        in_flight += 1
        most = max(most, in_flight)
        try:
            bucket = SPENT if ctx.step.key == "discord.channel:announcements" else ctx.step.key
            if bucket == SPENT:
                # Spent now, by other calls of this server: its window ends WINDOW_S from now.
                headers = {"X-RateLimit-Limit": "10", "X-RateLimit-Remaining": "0"}
                governor.observe(SPENT, {**headers, "X-RateLimit-Reset-After": str(WINDOW_S)})
            await governor.acquire(bucket, write=True)
            if bucket == SPENT:
                waited_until.append(time.monotonic())
            governor.observe(bucket, {})
            await asyncio.sleep(0.01)  # the call
            ended[ctx.step.key] = time.monotonic()
            return StepResult(f"id-{ctx.course_id}-{ctx.step.key}", {})
        finally:
            in_flight -= 1

    async def github_step(ctx: StepContext) -> StepResult:
        return StepResult(f"id-{ctx.course_id}-{ctx.step.key}", {})

    async with sessions() as session:
        kinds = set((await session.scalars(select(Step.kind))).all())
    executors = {k: discord_step if k.startswith("discord.") else github_step for k in kinds}
    runner = make_runner(sessions, Script(), ManualClock(), [], executors, concurrency=1)
    stop = asyncio.Event()
    serving = asyncio.create_task(runner.serve(stop))
    try:
        for _ in range(1000):
            async with sessions() as session:
                states = set(
                    (
                        await session.scalars(select(Step.state).where(Step.course_id == course.id))
                    ).all()
                )
            if states == {"succeeded"}:
                break
            await asyncio.sleep(0.02)
    finally:
        stop.set()
        await asyncio.wait_for(serving, 10)
    assert states == {"succeeded"}, states
    return ended, waited_until[0], most


async def test_steps_of_other_routes_run_while_one_waits_for_its_window(
    session_factory: Sessions,
) -> None:
    """With one Discord slot, the steps after the announcements channel (the other channels,
    the invite, the members' roles) all run while it waits for its server's channel window,
    not after; never more than twice the slots in flight."""
    ended, wait_ended, most = await run_lecture(session_factory, GovernorLimits.discord())
    later = [
        "discord.channel:general",
        "discord.channel:lectures",
        "discord.channel:qa-help",
        "discord.invite:students",
    ]
    assert all(ended[key] < wait_ended for key in later), (ended, wait_ended)
    assert most <= 2


async def test_a_credential_wide_bucket_still_holds_the_slot(session_factory: Sessions) -> None:
    """Where a bucket is the credential's (GitHub's "core"), waiting for it frees nothing: a
    call of any other step would wait for the same window."""
    limits = GovernorLimits(min_interval_s=1 / 40, write_interval_s=1 / 40)
    ended, wait_ended, most = await run_lecture(session_factory, limits)
    assert all(
        at > wait_ended
        for key, at in ended.items()
        if key != "discord.channel:announcements" and key.startswith("discord.channel:")
    ), (ended, wait_ended)
    assert most == 1
