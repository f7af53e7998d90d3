"""The runner keeps provisioning while the API, on the same event loop, is saturated: every
poll is shed and nothing the runner needs waits behind them (issue 13)."""

from __future__ import annotations

import asyncio
from contextlib import AsyncExitStack

import aiohttp
from aiohttp.test_utils import TestServer

from provisioning.courses.spec import parse_course
from provisioning.retry import RetryPolicy
from sandbox.server import SandboxServer
from tests.conftest import make_course
from tests.e2e.discordpy import build
from tests.e2e.harness import Control, all_steps, e2e_settings, lecture, logins
from tests.web.held_requests import hold

LIMIT = 2
POLLERS = 20


async def test_the_runner_completes_a_course_while_every_api_request_is_shed(
    database_url: str, sandbox: SandboxServer, control: Control, people: dict[str, str]
) -> None:
    """With the API's every slot held and 20 clients polling the course's status without pause
    (each poll answered 503), the runner in the same process runs the course to the end: every
    step succeeded, and the polls never got anything but 503 meanwhile."""
    settings = e2e_settings(database_url, sandbox, web_max_in_flight=LIMIT)
    async with AsyncExitStack() as stack:
        product = await build(settings, stack, policy=RetryPolicy(base_s=0))
        server = TestServer(product.web_app, host="127.0.0.1")
        await server.start_server()
        stack.push_async_callback(server.close)
        base_url = str(server.make_url("")).rstrip("/")
        spec = parse_course(lecture(people["ada"], people["grace"]))
        await control.github_users(logins(spec))
        course_id = (await product.courses.create(spec, actor="e2e")).id
        guild_id = await control.server_with_bot(spec)
        await control.join(guild_id, "grace")  # the TA, whose roles a step sets
        await product.claims.claim(product.claim_code(course_id), guild_id, people["ada"])
        token = await product.tokens.create("poller")
        status_url = f"{base_url}/courses/{course_id}/status"
        held_courses = [make_course(code=f"HELD{i}") for i in range(LIMIT)]

        async with (
            hold(base_url, token, held_courses, probe=f"/courses/{course_id}/status") as held,
            aiohttp.ClientSession(headers={"Authorization": f"Bearer {token}"}) as http,
        ):
            stop = asyncio.Event()
            answers: list[int] = []

            async def poll() -> None:
                while not stop.is_set():
                    async with http.get(status_url) as response:
                        await response.read()
                        answers.append(response.status)

            pollers = [asyncio.create_task(poll()) for _ in range(POLLERS)]
            try:
                ran = await product.runner.run_until_idle()
            finally:
                stop.set()
                await asyncio.gather(*pollers)
            states = {step.key: step.state for step in await all_steps(product.sessions)}
            assert ran >= len(states)
            assert set(states.values()) == {"succeeded"}, states
            assert len(answers) >= POLLERS
            assert set(answers) == {503}
            assert [await request.finish() for request in held] == [201] * LIMIT
