"""`python -m bot` itself: REST, runner, slash commands and metrics in one process, stopped by
SIGTERM. Proves the composition root wires every part, as an operator starts it."""

from __future__ import annotations

import asyncio
import signal
import socket
import sys
import time
from pathlib import Path
from typing import Any

import aiohttp

from provisioning.courses.spec import parse_course
from sandbox.server import SandboxServer
from tests.e2e.harness import (
    SANDBOX_RATE_SCALE,
    bot_cli,
    control_of,
    lecture,
    logins,
    product_env,
    until,
)

TOKEN = "cpb_" + "e2e-bootstrap-token-" + "x" * 24


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def status(http: aiohttp.ClientSession, course_id: str) -> dict[str, Any]:
    async with http.get(f"/courses/{course_id}/status") as response:
        assert response.status == 200, await response.text()
        return dict(await response.json())


async def test_the_bot_process_provisions_a_course_and_stops_on_sigterm(
    database_url: str, tmp_path: Path
) -> None:
    """POST a course, read its claim code from GET /claim (the status only says where it is),
    claim the server with /course claim, see it complete in the status and the metrics, then
    SIGTERM: exit status 0."""
    port = free_port()
    async with (
        SandboxServer(rate_scale=SANDBOX_RATE_SCALE) as sandbox,
        control_of(sandbox) as control,
    ):
        people = await control.discord_users()
        data = lecture(people["ada"], people["grace"])
        await control.github_users(logins(parse_course(data)))
        env = product_env(
            database_url,
            sandbox_url=sandbox.base_url,
            rate_scale="1000000",
            web_port=str(port),
            bootstrap_api_token=TOKEN,
        )
        log = tmp_path / "bot.log"
        with log.open("wb") as out:
            bot = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "bot", env=env, cwd=tmp_path, stdout=out, stderr=out
            )
        try:
            auth = {"Authorization": f"Bearer {TOKEN}"}
            async with aiohttp.ClientSession(f"http://127.0.0.1:{port}", headers=auth) as http:
                await until(lambda: _healthy(http), timeout_s=60, what="/healthz")
                async with http.post("/courses", json=data) as response:
                    assert response.status == 201, await response.text()
                    course_id = (await response.json())["id"]

                async def waiting_for_claim() -> bool:
                    return bool((await status(http, course_id))["actions"])

                await until(waiting_for_claim, timeout_s=60, what="the claim action")
                hint = (await status(http, course_id))["actions"][0]["hint"]
                assert f"GET /courses/{course_id}/claim" in hint
                async with http.get(f"/courses/{course_id}/claim") as response:
                    assert response.status == 200, await response.text()
                    assert response.headers["Cache-Control"] == "no-store"
                    claim = await response.json()
                assert claim["code"] not in hint
                assert claim["install_link"] in hint
                spec = parse_course(data)
                guild = await control.server_with_bot(spec, owner="ada")
                await control.join(guild, "grace")
                reply = await control.call(
                    "POST",
                    "/discord/interactions",
                    json={
                        "guild_id": guild,
                        "name": "course",
                        "user": "ada",
                        "options": [
                            {
                                "name": "claim",
                                "type": 1,
                                "options": [{"name": "code", "type": 3, "value": claim["code"]}],
                            }
                        ],
                    },
                )

                async def answered() -> bool:
                    seen = await control.call("GET", f"/discord/interactions/{reply['id']}")
                    return bool(seen["followups"])

                await until(answered, timeout_s=30, what="the /course claim reply")
                seen = await control.call("GET", f"/discord/interactions/{reply['id']}")
                assert "is now the server of CS101" in seen["followups"][0]["content"]

                async def done() -> bool:
                    return (await status(http, course_id))["state"] == "succeeded"

                await until(done, timeout_s=120, what="the course to complete")
                async with http.get("/metrics") as response:
                    metrics = await response.text()
                assert 'provisioning_steps{state="succeeded"}' in metrics
                assert "provisioning_http_requests_total" in metrics
        finally:
            if bot.returncode is None:
                bot.send_signal(signal.SIGTERM)
            code = await asyncio.wait_for(bot.wait(), 30)
        assert code == 0, log.read_text(errors="replace")
        assert "Traceback" not in log.read_text(errors="replace")


async def _healthy(http: aiohttp.ClientSession) -> bool:
    try:
        async with http.get("/healthz") as response:
            return response.status == 200
    except aiohttp.ClientConnectionError:
        return False


async def test_a_taken_web_port_exits_non_zero_at_once(database_url: str, tmp_path: Path) -> None:
    """Another process listens on WEB_PORT: `python -m bot` says so and exits 1, rather than
    hanging on a runner that nothing stops."""
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = int(taken.getsockname()[1])
        env = product_env(database_url, web_port=str(port), sandbox_port="0")
        started = time.monotonic()
        finished = await bot_cli(env=env, cwd=tmp_path, timeout_s=30)
    assert finished.returncode == 1, finished.stderr
    assert f"error: cannot listen on 127.0.0.1:{port}" in finished.stderr
    assert "Traceback" not in finished.stderr
    assert time.monotonic() - started < 20
