"""Two runner processes share one PostgreSQL database: five courses, no step run twice."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy import select

from db.models import AuditEvent
from provisioning.courses.spec import parse_course
from provisioning.plan import plan_course
from sandbox.server import SandboxServer
from tests.e2e.expect import check_discord, check_github
from tests.e2e.harness import (
    Control,
    Product,
    RunnerProcess,
    all_steps,
    discord_world,
    github_state,
    laboratory,
    lecture,
    logins,
    product_env,
    until,
)


@pytest.mark.postgres
@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)
async def test_two_runner_processes_provision_five_courses_each_step_once(
    database_url: str,
    product: Product,
    sandbox: SandboxServer,
    control: Control,
    people: dict[str, str],
    tmp_path: Path,
) -> None:
    """Every step starts once and succeeds at its first attempt; both processes take a share;
    every course has exactly one of each resource."""
    ada, grace = people["ada"], people["grace"]
    courses = [lecture(ada, grace, code=f"CS10{i}") for i in range(1, 5)]
    courses.append(laboratory(ada, grace))
    specs = [parse_course(data) for data in courses]
    await control.github_users(login for spec in specs for login in logins(spec))
    guilds = {}
    for data, spec in zip(courses, specs, strict=True):
        course_id = await product.create(data)
        guilds[course_id] = (spec, await control.server_with_bot(spec))
        await control.join(guilds[course_id][1], "grace")
        await product.claim(course_id, guilds[course_id][1], ada)

    env = product_env(database_url, sandbox_url=sandbox.base_url, rate_scale="1000000")
    runners = [await RunnerProcess.start(env, tmp_path, f"runner-{i}") for i in (1, 2)]
    try:

        async def finished() -> bool:
            return {s.state for s in await all_steps(product.sessions)} == {"succeeded"}

        await until(finished, timeout_s=90, what="five courses")
    finally:
        for runner in runners:
            assert await runner.stop() == 0, runner.output()

    steps = await all_steps(product.sessions)
    assert len(steps) == sum(len(plan_course(spec)) for spec in specs)
    assert {s.attempts for s in steps} == {1}
    async with product.sessions() as session:
        started = (
            await session.execute(
                select(AuditEvent.course_id, AuditEvent.step_key, AuditEvent.actor).where(
                    AuditEvent.event == "step.started"
                )
            )
        ).all()
    assert Counter((c, k) for c, k, _ in started) == Counter((s.course_id, s.key) for s in steps)
    shares = Counter(actor for _, _, actor in started)
    assert len(shares) == 2, shares

    state, world = github_state(sandbox), discord_world(sandbox)
    for spec, guild in guilds.values():
        check_github(state, spec)
        check_discord(world, guild, spec)
