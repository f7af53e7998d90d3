"""The sandbox app as a person uses it, in Debian's Chromium, against `python -m bot`.

The instructor picks who they are, creates the course's server, adds the bot with the install
link (on the sandbox's install page), claims the server with `/course claim` through the form
generated from the registered command, and follows `/course status` in the admin server until
the course is done; a student then joins with the course invite and sees exactly the course's
public channels. Every screen is shot at desktop and phone width, and axe-core finds no serious
accessibility problem.
"""

from __future__ import annotations

import asyncio
import socket
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from axe_playwright_python.async_playwright import Axe
from playwright.async_api import Browser, Page

from provisioning.courses.spec import parse_course
from sandbox.server import SandboxServer
from tests.e2e.harness import (
    DISCORD_TOKEN,
    SANDBOX_RATE_SCALE,
    Control,
    control_of,
    lecture,
    logins,
    product_env,
    until,
)

TOKEN = "cpb_" + "console-browser-token-" + "x" * 22
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}
SERIOUS = frozenset({"serious", "critical"})
ADMIN_ROLE = "Course Admin"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Screens:
    """Shoots each screen at desktop and phone width and checks it with axe-core."""

    def __init__(self, page: Page, folder: Path) -> None:
        self.page = page
        self.folder = folder
        self.problems: list[str] = []

    async def shoot(self, name: str) -> None:
        await self.page.screenshot(path=str(self.folder / f"sandbox-{name}-desktop.png"))
        result = await Axe().run(self.page)
        for violation in result.response["violations"]:
            if violation["impact"] in SERIOUS:
                targets = [n["target"] for n in violation["nodes"]][:3]
                self.problems.append(f"{name}: {violation['id']} {targets}")
        await self.page.set_viewport_size(PHONE)
        await self.page.screenshot(
            path=str(self.folder / f"sandbox-{name}-phone.png"), full_page=True
        )
        overflow = await self.page.evaluate(
            "document.documentElement.scrollWidth - window.innerWidth"
        )
        if overflow > 0:
            self.problems.append(f"{name}: {overflow} px wider than a phone")
        await self.page.set_viewport_size(DESKTOP)


async def admin_server(sandbox: SandboxServer, control: Control, owner: str) -> str:
    """The admin server development starts with: the bot in it, the admin role on `owner`.

    The owner makes the role in the client; here the bot's own REST API makes it (the
    sandbox has no control route for role editing), which is what the role looks like to
    the bot either way.
    """
    guild = await control.call("POST", "/discord/guilds", json={"name": "Admin", "owner": owner})
    gid = guild["id"]
    await control.call("POST", f"/discord/guilds/{gid}/bot", json={"permissions": 1 << 28})
    people = await control.discord_users()
    headers = {"Authorization": f"Bot {DISCORD_TOKEN}"}
    async with aiohttp.ClientSession(sandbox.base_url, headers=headers) as bot:
        async with bot.post(f"/api/v10/guilds/{gid}/roles", json={"name": ADMIN_ROLE}) as r:
            assert r.status == 200, await r.text()
            role = (await r.json())["id"]
        path = f"/api/v10/guilds/{gid}/members/{people[owner]}/roles/{role}"
        async with bot.put(path) as r:
            assert r.status == 204, await r.text()
    return str(gid)


@pytest.fixture
async def sandbox() -> AsyncIterator[SandboxServer]:
    async with SandboxServer(rate_scale=SANDBOX_RATE_SCALE) as server:
        yield server


async def _healthy(http: aiohttp.ClientSession) -> bool:
    try:
        async with http.get("/healthz") as response:
            return response.status == 200
    except aiohttp.ClientError:
        return False


async def act_as(page: Page, base: str, name: str) -> None:
    """Choose who this browser acts as, on the home page, and wait for the page it leads to.

    Not only for the header's name: acting as the person already chosen shows it at once,
    and a `goto` then raced the form's own navigation (CI: `net::ERR_ABORTED`)."""
    await page.goto(f"{base}/_sandbox/")
    await page.select_option("#who", label=f"{name.capitalize()} (@{name})")
    async with page.expect_navigation():
        await page.get_by_role("button", name="Act as this person").click()
    await page.wait_for_selector(f".who >> text=@{name}")


async def run_command(
    page: Page, slug: str, values: dict[str, str], files: dict[str, Path] | None = None
) -> None:
    """Open the command's form, fill it (files chosen from disk) and send it."""
    if await page.get_attribute(f"#cmd-{slug}", "open") is None:
        await page.click(f"#cmd-{slug} summary")
    for name, value in values.items():
        await page.fill(f"#{slug}-{name}", value)
    for name, path in (files or {}).items():
        await page.set_input_files(f"#{slug}-{name}", str(path))
    await page.click(f"#cmd-{slug} button[type=submit]")


async def reply_text(page: Page, slug: str, wanted: str, timeout_s: float = 60) -> str:
    box = page.locator(f"#reply-{slug}")
    await box.locator(f"text={wanted}").first.wait_for(timeout=timeout_s * 1000)
    return await box.inner_text()


async def test_a_person_claims_a_course_server_and_follows_it_to_done(
    sandbox: SandboxServer, bot_database_url: str, browser: Browser, artifacts: Path
) -> None:
    port = free_port()
    async with control_of(sandbox) as control:
        people = await control.discord_users()
        data = lecture(people["ada"], people["grace"])
        await control.github_users(logins(parse_course(data)))
        admin = await admin_server(sandbox, control, "ada")
        env = product_env(
            bot_database_url,
            sandbox_url=sandbox.base_url,
            rate_scale="1000000",
            web_port=str(port),
            bootstrap_api_token=TOKEN,
            discord_admin_guild_id=admin,
        )
        log = artifacts / "sandbox-console-bot.log"
        with log.open("wb") as out:
            bot = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "bot", env=env, cwd=artifacts, stdout=out, stderr=out
            )
        try:
            await _scenario(sandbox, control, port, data, browser, artifacts)
        finally:
            bot.terminate()
            await bot.wait()


async def _scenario(
    sandbox: SandboxServer,
    control: Control,
    port: int,
    data: dict[str, Any],
    browser: Browser,
    artifacts: Path,
) -> None:
    auth = {"Authorization": f"Bearer {TOKEN}"}
    async with aiohttp.ClientSession(f"http://127.0.0.1:{port}", headers=auth) as http:
        await until(lambda: _healthy(http), timeout_s=60, what="/healthz")

        async def registered() -> bool:
            return any(c["name"] == "course" for c in await _commands(sandbox))

        await until(registered, timeout_s=60, what="the bot's slash commands")
        async with http.post("/courses", json=data) as response:
            assert response.status == 201, await response.text()
            course_id = (await response.json())["id"]

        async def claimable() -> bool:
            async with http.get(f"/courses/{course_id}/claim") as response:
                return response.status == 200

        await until(claimable, timeout_s=60, what="the claim code")
        async with http.get(f"/courses/{course_id}/claim") as response:
            claim = await response.json()

    base = sandbox.base_url
    people_ids = await control.discord_users()
    context = await browser.new_context(viewport=DESKTOP)
    page = await context.new_page()
    errors: list[str] = []
    page.on(
        "console", lambda m: errors.append(f"{page.url}: {m.text}") if m.type == "error" else None
    )
    screens = Screens(page, artifacts)

    # Who am I: the instructor.
    await page.goto(f"{base}/_sandbox/")
    await screens.shoot("1-choose-person")
    await act_as(page, base, "ada")
    assert "Admin" in await page.inner_text("main")
    await screens.shoot("2-home-as-ada")

    # A new server for the course, and the bot added with the install link.
    await page.fill("#guild-name", "CS101 Spring")
    await page.get_by_role("button", name="Create server").click()
    await page.wait_for_selector("h1 >> text=#general")
    await screens.shoot("3-new-server")
    server_page = page.url
    await page.fill("#install-link", claim["install_link"])
    await page.get_by_role("button", name="Open the install link").click()
    # The sandbox's own install page: Ada is known, this server is chosen; she authorizes.
    await page.wait_for_selector("text=Add to server")
    assert await page.input_value("#user") == people_ids["ada"]
    assert await page.locator("#guild_id option:checked").inner_text() == "CS101 Spring"
    await page.screenshot(path=str(artifacts / "sandbox-3b-install-page-desktop.png"))
    await page.get_by_role("button", name="Authorize").click()
    await page.wait_for_selector("text=has been added to CS101 Spring")
    await page.goto(server_page)
    await page.wait_for_selector("#cmd-course-claim")
    assert "Course Bot" in await page.inner_text(".people")

    # /course claim, through the form generated from the registered command.
    await run_command(page, "course-claim", {"code": claim["code"]})
    claimed = await reply_text(page, "course-claim", "the server of CS101")
    assert "Only you can see this" in claimed
    await screens.shoot("4-claimed")

    # The course's invite appears in the server once the bot made it; the TA joins with it.
    course_server = page.url.split("?")[0]

    async def invite_shown() -> bool:
        await page.goto(course_server)
        return "discord.gg/" in await page.inner_text("aside")

    await until(invite_shown, timeout_s=60, what="the course invite", every_s=0.5)
    aside = await page.inner_text("aside")
    link = next(line for line in aside.splitlines() if "discord.gg/" in line).strip()
    await act_as(page, base, "grace")
    await page.fill("#invite", link)
    await page.get_by_role("button", name="Join", exact=True).click()
    await page.wait_for_selector("nav.channels")

    # In the admin server: /course retry (the TA is there now), then /course status until done.
    await act_as(page, base, "ada")
    await page.get_by_role("link", name="Admin", exact=True).click()
    await page.wait_for_selector("#cmd-course-status")
    await run_command(page, "course-retry", {"course": course_id})
    await reply_text(page, "course-retry", "Retrying")

    async def done() -> bool:
        await run_command(page, "course-status", {"course": course_id})
        await reply_text(page, "course-status", f"course id {course_id}")
        title = page.locator("#reply-course-status .embed-title").first
        return (await title.inner_text()).endswith(": Done")

    await until(done, timeout_s=120, what="/course status to say Done", every_s=1)
    await screens.shoot("5-status-done")

    # A roster CSV uploaded from the browser reaches the bot as an attachment.
    roster = artifacts / "sandbox-roster.csv"
    roster.write_text(
        "name,github\nBob,bob-b\nCarol,carol-c\nDave,dave-d\nEve,eve-e\n", encoding="utf-8"
    )
    await run_command(page, "course-roster", {"course": course_id}, {"file": roster})
    # The bot previews the difference (one student added) and applies it on Confirm.
    uploaded = await reply_text(page, "course-roster", "Roster change")
    assert "Added (1)" in uploaded, uploaded
    await page.locator("#reply-course-roster").get_by_role("button", name="Confirm").click()
    await reply_text(page, "course-roster", "roster applied")
    await screens.shoot("5b-roster-uploaded")

    # The course server as the instructor sees it now: the course's channels.
    await page.goto(course_server)
    channels = await page.inner_text("nav.channels")
    for name in ("announcements", "lectures", "qa-help"):
        assert name in channels
    await screens.shoot("6-course-server-instructor")

    # A student joins with the invite and sees exactly the course's channels.
    await act_as(page, base, "bob")
    await page.fill("#invite", link)
    await page.get_by_role("button", name="Join", exact=True).click()
    await page.wait_for_selector("nav.channels")
    seen = await page.locator("nav.channels li").all_inner_texts()
    student_roles = await page.locator("aside .members li", has_text="Bob").inner_text()
    await screens.shoot("7-student-view")
    # The journal, filtered with its form: GitHub's PUTs only.
    await page.goto(f"{base}/_sandbox/journal")
    await page.select_option("#f-platform", "github")
    await page.select_option("#f-method", "PUT")
    await page.get_by_role("button", name="Filter").click()
    await page.wait_for_url("**/_sandbox/journal?platform=github&method=PUT**")
    rows = await page.locator("table.journal tbody tr").all()
    assert rows
    for row in rows:
        cells = await row.locator("td").all_inner_texts()
        assert cells[1:3] == ["github", "PUT"], cells
    await screens.shoot("8-journal")
    await page.goto(f"{base}/_sandbox/github")
    await page.click("details.repo summary")
    await screens.shoot("9-github")
    # A fault set from the form is listed, then removed.
    await page.goto(f"{base}/_sandbox/fault-rules")
    await page.select_option("#pl", "github")
    await page.fill("#pa", "/orgs/*/nothing")
    await page.fill("#st", "503")
    await page.fill("#co", "2")
    await page.get_by_role("button", name="Add fault").click()
    await page.locator("td", has_text="/orgs/*/nothing").wait_for()
    assert [r["path"] for r in await control.call("GET", "/faults")] == ["/orgs/*/nothing"]
    await screens.shoot("10-faults")
    await page.get_by_role("button", name="Remove fault").click()
    await page.locator("text=None: every request is answered normally.").wait_for()
    assert await control.call("GET", "/faults") == []
    await context.close()

    # The server's own #general and voice channel, then the course's category.
    assert seen == [
        "# general",
        "# announcements",
        "# general",
        "# lectures",
        "# qa-help",
        "General (voice)",
    ], seen
    assert "Student" in student_roles, student_roles
    assert not screens.problems, screens.problems
    # The install page (not the app's) has no icon: the browser's request for one is a 404.
    assert [e for e in errors if "/oauth2/authorize" not in e] == []


async def _commands(sandbox: SandboxServer) -> list[dict[str, Any]]:
    app = 1310000000000000001
    headers = {"Authorization": f"Bot {DISCORD_TOKEN}"}
    url = f"{sandbox.discord_api_url}/applications/{app}/commands"
    async with aiohttp.ClientSession(headers=headers) as http, http.get(url) as r:
        return list(await r.json())
