"""Development with more than one process: `python -m bot` and then `python -m bot runner`,
started from the same folder as the README says, provision into the one sandbox the bot runs."""

from __future__ import annotations

import asyncio
import socket
import sys
from pathlib import Path

import aiohttp

from tests.e2e.harness import ORG, RunnerProcess, lecture, product_env, until

TOKEN = "cpb_" + "dev-runners-token-" + "x" * 26
COURSES = 4


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def test_a_runner_started_beside_the_bot_joins_its_sandbox(
    database_url: str, tmp_path: Path
) -> None:
    """The runner finds the bot's sandbox (`data/sandbox.url`) instead of starting a second
    world: it says so, and every course's repository is created in the bot's sandbox, whoever
    of the two ran the step."""
    port = free_port()
    env = product_env(
        database_url,
        rate_scale="1000000",
        sandbox_port="0",
        web_port=str(port),
        bootstrap_api_token=TOKEN,
    )
    log = tmp_path / "bot.log"
    with log.open("wb") as out:
        bot = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", env=env, cwd=tmp_path, stdout=out, stderr=out
        )
    runner: RunnerProcess | None = None
    try:
        auth = {"Authorization": f"Bearer {TOKEN}"}
        async with aiohttp.ClientSession(f"http://127.0.0.1:{port}", headers=auth) as http:

            async def healthy() -> bool:
                try:
                    async with http.get("/healthz") as response:
                        return response.status == 200
                except aiohttp.ClientError:
                    return False

            await until(healthy, timeout_s=60, what=f"/healthz\n{log.read_text()}")
            sandbox_url = (tmp_path / "data" / "sandbox.url").read_text().strip()
            # The bot prints its URLs once its web server, commands and gateway are up.
            await until(
                lambda: f"Sandbox      {sandbox_url}/_sandbox/" in log.read_text(),
                timeout_s=60,
                what=f"the bot's announcement\n{log.read_text()}",
            )
            runner = await RunnerProcess.start(env, tmp_path, "runner")
            await until(
                lambda: "joining the sandbox another process runs" in runner.output(),
                timeout_s=60,
                what=f"the runner joining\n{runner.output()}",
            )
            for n in range(COURSES):
                data = lecture("100000000000000001", "100000000000000002", code=f"CS10{n}")
                async with http.post("/courses", json=data) as response:
                    assert response.status == 201, await response.text()

            async def repositories() -> list[str]:
                query = {"method": "POST", "limit": "1000"}
                async with http.get(f"{sandbox_url}/_sandbox/requests", params=query) as got:
                    entries = (await got.json())["requests"]
                return [
                    e["path"]
                    for e in entries
                    if e["path"] == f"/api/v3/orgs/{ORG}/repos" and e["status"] == 201
                ]

            async def every_repository_created() -> bool:
                return len(await repositories()) == COURSES

            await until(every_repository_created, timeout_s=60, what="the repositories")
    finally:
        if runner is not None:
            assert await runner.stop() == 0, runner.output()
        bot.terminate()
        assert await bot.wait() == 0, log.read_text()
