from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db import step_queue
from db.models import Step
from provisioning.courses.service import CourseService
from provisioning.courses.spec import parse_course
from provisioning.errors import ActionRequiredError, PlatformError, StepFailedError
from provisioning.plan import plan_course
from provisioning.step import StepContext, StepResult
from tests.fakes.clocks import FastForwardClock, ManualClock
from tests.provisioning.examples import lab_course, lecture_course
from tests.runner.fakes import Script, make_runner

Sessions = async_sessionmaker[AsyncSession]
# Every kind either example plans (the lecture's Carol is known on Discord).
KINDS = sorted(
    {s.kind for data in (lab_course(), lecture_course()) for s in plan_course(parse_course(data))}
)


async def create(sessions: Sessions, data: dict[str, Any]) -> str:
    # Created at the start of a runner's ManualClock: the steps are due when the runner starts.
    record = await CourseService(sessions, ManualClock()).create(parse_course(data), actor="test")
    return record.id


async def states(sessions: Sessions, course_id: str) -> dict[str, str]:
    async with sessions() as session:
        rows = await session.execute(
            select(Step.key, Step.state).where(Step.course_id == course_id)
        )
        return {str(key): str(state) for key, state in rows}


async def test_runs_every_step_once_in_dependency_order(session_factory: Sessions) -> None:
    """A course's steps all succeed, each after its dependencies, each exactly once."""
    course_id = await create(session_factory, lab_course())
    script, clock = Script(), ManualClock()
    runner = make_runner(session_factory, script, clock, KINDS)
    await runner.run_until_idle()
    assert set((await states(session_factory, course_id)).values()) == {"succeeded"}
    assert max(script.runs.values()) == 1
    plan = {s.key: s for s in plan_course(parse_course(lab_course()))}
    position = {key: i for i, key in enumerate(script.calls)}
    for key, step in plan.items():
        assert all(position[d] < position[key] for d in step.depends_on)


async def test_retryable_errors_back_off_then_succeed(session_factory: Sessions) -> None:
    """A 502 puts the step back to pending until its backoff passes, then it succeeds."""
    course_id = await create(session_factory, lecture_course())
    script, clock = Script(), ManualClock()
    script.fail("github.repo:lecture", PlatformError("github", 502, "Bad Gateway", retry_after=30))
    runner = make_runner(session_factory, script, clock, KINDS)
    await runner.run_until_idle()
    assert (await states(session_factory, course_id))["github.repo:lecture"] == "pending"
    clock.advance(31)
    await runner.run_until_idle()
    assert set((await states(session_factory, course_id)).values()) == {"succeeded"}
    assert script.runs["github.repo:lecture"] == 2


async def test_exhausted_attempts_fail_and_block_dependants(session_factory: Sessions) -> None:
    """After max attempts the step fails, its dependants are blocked, a retry completes it."""
    course_id = await create(session_factory, lecture_course())
    script, clock = Script(), ManualClock()
    script.fail("github.repo:lecture", *[PlatformError("github", 500, "boom")] * 3)
    runner = make_runner(session_factory, script, clock, KINDS)
    for _ in range(4):
        await runner.run_until_idle()
        clock.advance(1)
    now = await states(session_factory, course_id)
    assert now["github.repo:lecture"] == "failed"
    assert now["github.seed:lecture"] == "blocked"
    assert now["github.protection:lecture"] == "blocked"
    assert now["discord.server"] == "succeeded"
    await CourseService(session_factory, clock).retry(course_id, actor="test")
    await runner.run_until_idle()
    assert set((await states(session_factory, course_id)).values()) == {"succeeded"}


async def test_permanent_and_action_errors(session_factory: Sessions) -> None:
    """A permanent error fails at once; a needed action waits, and the rest goes on."""
    course_id = await create(session_factory, lecture_course())
    script, clock = Script(), ManualClock()
    script.fail("github.protection:lecture", ActionRequiredError("github.plan", "upgrade"))
    script.fail("discord.role:ta", StepFailedError("no"))
    script.fail("github.team:tas", PlatformError("github", 422, "Validation Failed"))
    runner = make_runner(session_factory, script, clock, KINDS)
    await runner.run_until_idle()
    now = await states(session_factory, course_id)
    assert now["github.protection:lecture"] == "awaiting_action"
    assert now["discord.role:ta"] == "failed"
    assert now["github.team:tas"] == "failed"
    assert now["github.access:lecture:tas"] == "blocked"
    assert now["discord.role-order"] == "blocked"
    assert now["github.access:lecture:students"] == "succeeded"
    assert script.runs["discord.role:ta"] == 1
    async with session_factory() as session:
        step = await session.scalar(select(Step).where(Step.key == "github.protection:lecture"))
        assert step is not None
        assert step.action_hint == "upgrade"
        assert step.last_error_code == "github.plan"


async def test_expired_lease_is_taken_over(session_factory: Sessions) -> None:
    """A runner that died holding a lease loses the step to another after expiry."""
    course_id = await create(session_factory, lecture_course())
    clock = ManualClock()
    async with session_factory.begin() as session:
        dead = await step_queue.claim(
            session, owner="dead", now=clock.now(), lease=timedelta(seconds=60), limit=1
        )
    assert len(dead) == 1
    script = Script()
    runner = make_runner(session_factory, script, clock, KINDS, lease_s=60)
    await runner.run_until_idle()
    assert (await states(session_factory, course_id))[dead[0].key] == "running"
    clock.advance(61)
    await runner.run_until_idle()
    assert set((await states(session_factory, course_id)).values()) == {"succeeded"}
    async with session_factory.begin() as session:
        late = await step_queue.succeed(session, dead[0].id, "dead", clock.now(), "x", {})
    assert late is False


async def test_two_runners_never_run_a_step_twice(session_factory: Sessions) -> None:
    """Runners claiming concurrently on one database each take different steps."""
    course_ids = [
        await create(session_factory, {**lab_course(), "code": f"CS{n}01"}) for n in range(1, 4)
    ]
    script, clock = Script(), ManualClock()
    runners = [make_runner(session_factory, script, clock, KINDS, concurrency=4) for _ in range(2)]
    await asyncio.gather(*(r.run_until_idle() for r in runners))
    await asyncio.gather(*(r.run_until_idle() for r in runners))
    for course_id in course_ids:
        assert set((await states(session_factory, course_id)).values()) == {"succeeded"}
    assert max(script.runs_by_course.values()) == 1
    assert sum(script.runs_by_course.values()) == 3 * len(plan_course(parse_course(lab_course())))


async def test_serve_runs_everything_then_stops_cleanly(session_factory: Sessions) -> None:
    """The long-running loop keeps slots busy until the course is done, and stops on request;
    it runs up to `concurrency` steps of each platform."""
    course_id = await create(session_factory, lab_course())
    script, clock = Script(), ManualClock()
    expected = len(plan_course(parse_course(lab_course())))
    script.when_done(expected)
    runner = make_runner(session_factory, script, clock, KINDS, concurrency=3)
    stop = asyncio.Event()
    serving = asyncio.create_task(runner.serve(stop))
    await asyncio.wait_for(script.done.wait(), timeout=30)
    stop.set()
    await asyncio.wait_for(serving, timeout=30)
    assert set((await states(session_factory, course_id)).values()) == {"succeeded"}
    assert script.max_in_flight <= 3 * 2  # three per platform, GitHub and Discord


async def test_ready_steps_are_not_hidden_behind_waiting_ones(session_factory: Sessions) -> None:
    """A step made due late is claimed even when many older pending steps still wait on it."""
    course_id = await create(session_factory, lab_course(groups=6))
    script, clock = Script(), ManualClock()
    script.fail("discord.server", ActionRequiredError("discord.claim", "claim the server"))
    runner = make_runner(session_factory, script, clock, KINDS, concurrency=1)
    await runner.run_until_idle()
    assert (await states(session_factory, course_id))["discord.server"] == "awaiting_action"
    clock.advance(60)
    await CourseService(session_factory, clock).retry(course_id, actor="test")
    await runner.run_until_idle()
    assert set((await states(session_factory, course_id)).values()) == {"succeeded"}


async def test_a_step_whose_lease_is_taken_over_is_abandoned(session_factory: Sessions) -> None:
    """When renewing finds the step owned by another runner, the executor is cancelled and
    this runner records nothing for it."""
    course_id = await create(session_factory, lecture_course())
    cancelled = asyncio.Event()

    async def hijacked(ctx: StepContext) -> StepResult:
        async with session_factory.begin() as session:
            await session.execute(
                update(Step)
                .where(Step.course_id == course_id, Step.key == ctx.step.key)
                .values(lease_owner="another-runner")
            )
        try:
            await asyncio.Event().wait()
        finally:
            cancelled.set()
        raise AssertionError("unreachable")

    runner = make_runner(
        session_factory,
        Script(),
        FastForwardClock(),  # time moves as the lease keeper (all that sleeps) waits
        [],
        dict.fromkeys(KINDS, hijacked),
        concurrency=1,
    )
    await runner.run_once()
    assert cancelled.is_set()
    async with session_factory() as session:
        owners = {
            step.lease_owner
            for step in (await session.scalars(select(Step).where(Step.state == "running"))).all()
        }
    assert owners == {"another-runner"}


class FlakySessions:
    """A session factory whose first `begin()` fails, as a database restart would."""

    def __init__(self, sessions: Sessions, failures: int) -> None:
        self._sessions = sessions
        self.failures = failures

    def __call__(self) -> Any:
        return self._sessions()

    def begin(self) -> Any:
        if self.failures > 0:
            self.failures -= 1
            raise OperationalError("SELECT 1", {}, Exception("database is restarting"))
        return self._sessions.begin()


async def test_serve_survives_a_failing_claim(session_factory: Sessions) -> None:
    """A database error while claiming is logged and retried; the runner goes on."""
    course_id = await create(session_factory, lecture_course())
    script, clock = Script(), ManualClock()
    script.when_done(len(plan_course(parse_course(lecture_course()))))
    flaky = FlakySessions(session_factory, failures=1)
    runner = make_runner(flaky, script, clock, KINDS, idle_poll_s=0.01)
    stop = asyncio.Event()
    serving = asyncio.create_task(runner.serve(stop))
    await asyncio.wait_for(script.done.wait(), timeout=30)
    stop.set()
    await asyncio.wait_for(serving, timeout=30)
    assert flaky.failures == 0
    assert set((await states(session_factory, course_id)).values()) == {"succeeded"}


class CountingSessions:
    """A session factory that counts the sessions and transactions the runner opens."""

    def __init__(self, sessions: Sessions) -> None:
        self._sessions = sessions
        self.plain = 0
        self.transactions = 0

    def __call__(self) -> Any:
        self.plain += 1
        return self._sessions()

    def begin(self) -> Any:
        self.transactions += 1
        return self._sessions.begin()


async def test_a_round_opens_one_claim_and_one_settle_per_step(session_factory: Sessions) -> None:
    """Executing a claimed step reads nothing more from the database: a round is one claim
    transaction and one settling transaction per step, and the executor still gets the course's
    spec and what each dependency produced."""
    course_id = await create(session_factory, lecture_course())
    script, clock = Script(), ManualClock()
    seen: list[StepContext] = []

    async def recording(ctx: StepContext) -> StepResult:
        seen.append(ctx)
        return await script.execute(ctx)

    counting = CountingSessions(session_factory)
    runner = make_runner(counting, script, clock, [], dict.fromkeys(KINDS, recording))
    first = await runner.run_once()
    assert first > 0
    assert (counting.plain, counting.transactions) == (0, 1 + first)
    await runner.run_until_idle()
    assert set((await states(session_factory, course_id)).values()) == {"succeeded"}
    assert {ctx.spec.code for ctx in seen} == {lecture_course()["code"]}
    with_dependencies = [ctx for ctx in seen if ctx.step.depends_on]
    assert with_dependencies
    for ctx in with_dependencies:
        assert set(ctx.dependencies) == set(ctx.step.depends_on)
        assert all(dep.facts == {"attempt": 1} for dep in ctx.dependencies.values())
