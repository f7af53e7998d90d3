"""A runner process killed in the middle of a step; another process finishes the course."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path

from aiohttp import web
from sqlalchemy import select

from db.models import AuditEvent
from provisioning.courses.spec import parse_course
from sandbox.server import SandboxServer
from tests.e2e.expect import check_discord, check_github
from tests.e2e.harness import (
    ORG,
    SANDBOX_RATE_SCALE,
    RunnerProcess,
    all_steps,
    control_of,
    discord_world,
    github_state,
    lecture,
    open_product,
    product_env,
    until,
)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
LEASE_S = 1.0
STEP = "github.repo:lecture"


class Gate:
    """Holds the first request to one endpoint until released, then lets the sandbox apply it
    (aiohttp does not cancel a handler whose client went away)."""

    def __init__(self, method: str, path: str) -> None:
        self.method, self.path = method, path
        self.arrived, self.release, self.applied = asyncio.Event(), asyncio.Event(), asyncio.Event()

        @web.middleware
        async def gate(request: web.Request, handler: Handler) -> web.StreamResponse:
            if self.arrived.is_set() or (request.method, request.path) != (method, path):
                return await handler(request)
            self.arrived.set()
            await self.release.wait()
            try:
                return await handler(request)
            finally:
                self.applied.set()

        self.middleware = gate


async def test_runner_killed_mid_create_is_taken_over_after_its_lease(
    database_url: str, tmp_path: Path
) -> None:
    """SIGKILL while the repository create is in flight (and then applied): a second runner
    process takes the steps over once the 1 s lease expires, adopts the repository and
    finishes the course with one of each resource."""
    gate = Gate("POST", f"/api/v3/orgs/{ORG}/repos")
    sandbox = SandboxServer(rate_scale=SANDBOX_RATE_SCALE, middlewares=[gate.middleware])
    async with sandbox, control_of(sandbox) as control, open_product(database_url, sandbox) as app:
        people = await control.discord_users()
        data = lecture(people["ada"], people["grace"])
        course_id = await app.create(data)
        env = product_env(
            database_url,
            sandbox_url=sandbox.base_url,
            rate_scale="1000000",
            runner_lease_s=str(LEASE_S),
        )

        first = await RunnerProcess.start(env, tmp_path, "first")
        try:
            await asyncio.wait_for(gate.arrived.wait(), 60)
            steps = {s.key: s for s in await all_steps(app.sessions, course_id)}
            assert steps[STEP].state == "running"
            dead_owner = steps[STEP].lease_owner
            first.kill()
            assert await first.process.wait() < 0
        finally:
            first.kill()
        gate.release.set()
        await gate.applied.wait()

        spec = parse_course(data)
        guild = await control.server_with_bot(spec)
        await control.join(guild, "grace")
        await app.claim(course_id, guild, people["ada"])

        second = await RunnerProcess.start(env, tmp_path, "second")
        try:

            async def finished() -> bool:
                states = {s.state for s in await all_steps(app.sessions, course_id)}
                return states == {"succeeded"}

            await until(finished, timeout_s=60, what=f"the course\n{second.output()}")
        finally:
            assert await second.stop() == 0, second.output()

        async with app.sessions() as session:
            started = (
                await session.scalars(
                    select(AuditEvent.actor)
                    .where(AuditEvent.event == "step.started", AuditEvent.step_key == STEP)
                    .order_by(AuditEvent.id)
                )
            ).all()
        steps = {s.key: s for s in await all_steps(app.sessions, course_id)}

    assert len(started) == 2
    assert started[0] == dead_owner
    assert started[1] != dead_owner
    assert steps[STEP].attempts == 2
    creates = sandbox.journal.query(method="POST", path_contains=f"/orgs/{ORG}/repos")
    assert len(creates) == 1
    check_github(github_state(sandbox), spec)
    check_discord(discord_world(sandbox), guild, spec)
