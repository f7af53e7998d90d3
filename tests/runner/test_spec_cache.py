"""The runner validates a course's description once per content, not once per step, and a
changed description reaches the next step."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from provisioning.courses.service import CourseService
from provisioning.courses.spec import CourseSpec, parse_course
from provisioning.plan import plan_course
from provisioning.step import StepContext, StepResult
from tests.fakes.clocks import ManualClock
from tests.provisioning.examples import lecture_course
from tests.runner.fakes import Script, make_runner

Sessions = async_sessionmaker[AsyncSession]


async def test_steps_of_one_course_share_one_validated_description(
    session_factory: Sessions,
) -> None:
    """Every step of a course gets the same CourseSpec object; after a title change, the steps
    it makes due get the new one."""
    data: dict[str, Any] = lecture_course()
    courses = CourseService(session_factory, ManualClock())
    course_id = (await courses.create(parse_course(data), actor="test")).id
    seen: list[CourseSpec] = []
    script = Script()

    async def execute(ctx: StepContext) -> StepResult:
        seen.append(ctx.spec)
        return await script.execute(ctx)

    kinds = sorted({s.kind for s in plan_course(parse_course(data))})
    runner = make_runner(
        session_factory, script, ManualClock(), kinds, executors=dict.fromkeys(kinds, execute)
    )
    await runner.run_until_idle()
    assert len(seen) > 1
    assert len({id(spec) for spec in seen}) == 1

    first = seen[0]
    seen.clear()
    await courses.update(course_id, parse_course({**data, "title": "A New Title"}), "test")
    await runner.run_until_idle()
    assert seen
    assert {spec.title for spec in seen} == {"A New Title"}
    assert all(spec is not first for spec in seen)
