"""A GitHub App suspended on an organization: the course's GitHub steps wait for a person (not
failed) with the organization and where to unsuspend it, said once; the installation watch
re-checks it with one call per organization and changes nothing while it lasts; unsuspended,
the steps go on by themselves, without a restart or a retry, and nothing is made twice. The
same with a pinned installation (`GITHUB_INSTALLATION_ID`), suspended or uninstalled."""

from __future__ import annotations

import asyncio
import logging
import signal
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from cogs.render.status import status_embed
from provisioning.courses.views import StatusOverview
from provisioning.github.installation_watch import NOT_INSTALLED, SUSPENDED
from sandbox.server import SandboxServer
from tests.e2e.harness import (
    SANDBOX_RATE_SCALE,
    Control,
    Product,
    control_of,
    lecture,
    product_env,
    until,
)
from tests.e2e.test_app_uninstalled import sandbox  # noqa: F401 - the fixture
from tests.e2e.test_installations import (
    APP_ID,
    INSTALLED,
    github_steps,
    private_key,
    product_with,
    provision_github,
)
from tests.e2e.test_serve import TOKEN, _healthy, free_port, status

ORG = "demo-university"
SUSPEND = f"/github/apps/{APP_ID}/installations/suspended"
STUDENT = [{"name": "Bob", "github": "bob-b"}]


async def shown_to_a_person(product: Product, course_id: str) -> str:
    """The `/course status` reply's text (its embed, as the cog renders it)."""
    record = await product.courses.get(course_id)
    page = await product.courses.status_page(course_id, limit=5, states=("failed", "blocked"))
    embed = status_embed(record, StatusOverview(page.summary, page.actions), None, "", page.steps)
    return "\n".join(f"{field.name}: {field.value}" for field in embed.fields)


def suspended_warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    """The gateway's warnings of the suspension (each step's own wait is logged once by the
    runner, as every step state change is)."""
    return [
        r.getMessage()
        for r in caplog.records
        if r.name == "clients.github.installations" and "is suspended on" in r.getMessage()
    ]


def created_repos(server: SandboxServer, start: int) -> Counter[str]:
    """The repository creations answered since `start`, by path."""
    entries = server.journal.query(since=start, platform="github", limit=1_000_000)
    return Counter(
        e.path for e in entries if e.method == "POST" and e.path.endswith("/repos") and e.status
    )


@pytest.mark.parametrize("pinned", [False, True], ids=["found", "pinned"])
async def test_a_suspended_app_waits_then_goes_on_by_itself_when_unsuspended(
    database_url: str,
    sandbox: SandboxServer,  # noqa: F811 - the fixture imported above
    control: Control,
    caplog: pytest.LogCaptureFixture,
    pinned: bool,
) -> None:
    """One course provisions; an owner of the org suspends the App; a second course's GitHub
    steps wait (`awaiting_action`, their attempt given back on the way out), and the status
    reply names the org, who suspended it and the installation's settings page; the warning is
    logged once. Re-checks while suspended send only the App's lookups and move nothing. The
    owner unsuspends it: one re-check sends the steps back, the course completes, and every
    repository was created once."""
    caplog.set_level(logging.INFO)
    people = await control.discord_users()
    ada, grace = people["ada"], people["grace"]
    installation = next(i for i, org in INSTALLED.items() if org == ORG)
    settings = {"github_app_id": APP_ID, "github_app_private_key": private_key()}
    if pinned:
        settings["github_installation_id"] = installation
    async with product_with(database_url, sandbox, **settings) as product:
        watch = product.built.installations
        assert watch is not None
        first = await product.create(lecture(ada, grace, code="CS101", students=STUDENT))
        await provision_github(product)
        assert {s.state for s in await github_steps(product, first)} == {"succeeded"}

        said = await control.call("PUT", SUSPEND, json={"org": ORG, "by": "demo-admin"})
        assert said["suspended"] is True
        start = sandbox.journal.cursor()
        second = await product.create(lecture(ada, grace, code="CS102", students=STUDENT))
        await provision_github(product)
        steps = await github_steps(product, second)
        waiting = [s for s in steps if s.state == "awaiting_action"]
        assert waiting, {s.key: s.state for s in steps}
        assert {s.state for s in steps} <= {"awaiting_action", "pending"}
        assert {s.last_error_code for s in waiting} == {SUSPENDED}
        settings_page = f"{sandbox.base_url}/organizations/{ORG}/settings/installations/"
        reply = await shown_to_a_person(product, second)
        assert f"The GitHub App course-bot is suspended on {ORG} (suspended by demo-admin)" in (
            reply
        )
        assert "Settings → Third-party Access → GitHub Apps → course-bot → Configure" in reply
        assert f"{settings_page}{installation}" in reply
        assert "the provisioning continues by itself" in reply
        assert len(suspended_warnings(caplog)) == 1
        github = sandbox.journal.query(since=start, platform="github", limit=1_000_000)
        assert [
            e
            for e in github
            if e.method != "GET" and "/app/" not in e.path and e.status and e.status < 300
        ] == []

        checked = sandbox.journal.cursor()
        for _ in range(3):
            assert await watch.check() == 0
        lookups = sandbox.journal.query(since=checked, platform="github", limit=1_000_000)
        expected = f"/app/installations/{installation}" if pinned else f"/orgs/{ORG}/installation"
        assert [(e.method, e.path.removeprefix("/api/v3")) for e in lookups] == [
            ("GET", expected)
        ] * 3
        assert {s.state for s in await github_steps(product, second)} == {s.state for s in steps}
        assert len(suspended_warnings(caplog)) == 1

        said = await control.call("DELETE", SUSPEND, json={"org": ORG})
        assert said["suspended"] is False
        moved = await watch.check()
        assert moved == len(waiting)
        requeued = {s.key: s for s in await github_steps(product, second)}
        for step in waiting:
            assert requeued[step.key].state == "pending"
            assert requeued[step.key].attempts == step.attempts - 1
        await provision_github(product)
        assert {s.state for s in await github_steps(product, second)} == {"succeeded"}
        made = created_repos(sandbox, start)
        assert made
        assert set(made.values()) == {1}, made
        assert len(suspended_warnings(caplog)) == 1


async def test_a_pinned_installation_uninstalled_waits_and_says_to_change_the_id(
    database_url: str,
    sandbox: SandboxServer,  # noqa: F811 - the fixture imported above
    control: Control,
) -> None:
    """With `GITHUB_INSTALLATION_ID`, the App uninstalled: the steps wait (not failed) with
    the install link and the setting to change, and the watch keeps them waiting: the pinned
    id never comes back."""
    people = await control.discord_users()
    installation = next(i for i, org in INSTALLED.items() if org == ORG)
    settings = {
        "github_app_id": APP_ID,
        "github_app_private_key": private_key(),
        "github_installation_id": installation,
    }
    async with product_with(database_url, sandbox, **settings) as product:
        await control.call("DELETE", f"/github/apps/{APP_ID}/installations", json={"org": ORG})
        course = await product.create(
            lecture(people["ada"], people["grace"], code="CS103", students=STUDENT)
        )
        await provision_github(product)
        steps = await github_steps(product, course)
        waiting = [s for s in steps if s.state == "awaiting_action"]
        assert waiting
        assert {s.last_error_code for s in waiting} == {NOT_INSTALLED}
        assert {s.state for s in steps} <= {"awaiting_action", "pending"}
        reply = await shown_to_a_person(product, course)
        assert f"installation {installation} (GITHUB_INSTALLATION_ID) is gone" in reply
        assert f"{sandbox.base_url}/apps/course-bot/installations/new" in reply
        watch = product.built.installations
        assert watch is not None
        await control.call("POST", f"/github/apps/{APP_ID}/installations", json={"org": ORG})
        assert await watch.check() == 0


async def test_the_bot_process_goes_on_by_itself_once_the_app_is_unsuspended(
    database_url: str, tmp_path: Path
) -> None:
    """`python -m bot` with the sandbox's GitHub App, suspended on the org by an owner: the
    REST status shows the course's GitHub steps waiting with the suspension; the owner
    unsuspends it, and the bot's own schedule re-checks and finishes them, with no retry and no
    restart."""
    port = free_port()
    async with (
        SandboxServer(rate_scale=SANDBOX_RATE_SCALE) as server,
        control_of(server) as control,
    ):
        people = await control.discord_users()
        data = lecture(people["ada"], people["grace"], students=STUDENT)
        await control.call(
            "PUT", "/github/apps/1/installations/suspended", json={"org": ORG, "by": "demo-admin"}
        )
        env = product_env(
            database_url,
            sandbox_url=server.base_url,
            rate_scale="1000",
            web_port=str(port),
            bootstrap_api_token=TOKEN,
            github_app_id="1",
            github_app_private_key=private_key(),
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

                async def github_steps_rest() -> list[dict[str, Any]]:
                    url = f"/courses/{course_id}/status?limit=200"
                    async with http.get(url) as response:
                        assert response.status == 200, await response.text()
                        found = await response.json()
                    return [s for s in found["steps"] if s["kind"].startswith("github.")]

                async def suspended() -> bool:
                    return any(s["last_error_code"] == SUSPENDED for s in await github_steps_rest())

                await until(suspended, timeout_s=60, what="the steps to wait for the App")
                hints = [a["hint"] for a in (await status(http, course_id))["actions"]]
                assert any(f"The GitHub App course-bot is suspended on {ORG}" in h for h in hints)
                await control.call(
                    "DELETE", "/github/apps/1/installations/suspended", json={"org": ORG}
                )

                async def github_done() -> bool:
                    return {s["state"] for s in await github_steps_rest()} == {"succeeded"}

                await until(github_done, timeout_s=120, what="the GitHub steps to finish")
        finally:
            if bot.returncode is None:
                bot.send_signal(signal.SIGTERM)
            code = await asyncio.wait_for(bot.wait(), 30)
        text = log.read_text(errors="replace")
        assert code == 0, text
        assert "Traceback" not in text
        assert "steps waiting for the GitHub App go on" in text
        assert text.count("the GitHub App is suspended on demo-university") == 1
