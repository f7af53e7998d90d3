"""README "Trying it", step by step, in Debian's Chromium against `python -m bot`.

Ada, in the development world's "Department Admin" server, runs `/course create` (laboratory,
`examples/roster.csv` chosen in the generated form), fills the bot's modal, confirms the
preview, creates the course's server, adds the bot with the install link from the Confirm
answer, claims the server, follows `/course status` (picked from the autocomplete suggestions)
until it succeeds, and lists `/course invites`; Bob opens his group's invite link in the
browser, accepts it on the sandbox's invite page and sees exactly his channels. Every screen
is shot at desktop and phone width and checked with axe-core.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import aiohttp
from playwright.async_api import Browser, Page

from sandbox.discord.config import AdminServer
from sandbox.server import SandboxServer
from tests.e2e.harness import REPO_ROOT, control_of, product_env, until
from tests.sandbox.console.test_person_browser import (
    DESKTOP,
    TOKEN,
    Screens,
    _commands,
    _healthy,
    act_as,
    free_port,
    reply_text,
    run_command,
    sandbox,  # noqa: F401 - fixture
)

ROSTER = REPO_ROOT / "examples" / "roster.csv"
# discord.py registers a modal's handler once the command's callback returned: a person
# takes longer than this to fill a form, a script must wait as long.
MODAL_READ_S = 1.5


async def field_value(page: Page, box: str, name: str) -> str:
    """An embed field's value as shown, by the field's name."""
    field = page.locator(f"{box} .field", has=page.locator("dt", has_text=name)).last
    return (await field.locator("dd").inner_text()).strip()


async def pick_course(page: Page, slug: str, typed: str) -> None:
    """Type a few letters of the course and pick the bot's first suggestion, as in the README."""
    if await page.get_attribute(f"#cmd-{slug}", "open") is None:
        await page.click(f"#cmd-{slug} summary")
    box = page.locator(f"#{slug}-course")
    await box.fill("")
    await box.press_sequentially(typed, delay=50)
    option = page.locator(f"#{slug}-course-list option").first
    await option.wait_for(state="attached", timeout=10_000)
    await box.fill(str(await option.get_attribute("value")))
    await page.click(f"#cmd-{slug} button[type=submit]")


async def test_the_readme_path_from_course_create_to_a_student_in_his_lab_channel(
    sandbox: SandboxServer,  # noqa: F811 - fixture
    bot_database_url: str,
    browser: Browser,
    artifacts: Path,
) -> None:
    port = free_port()
    async with control_of(sandbox):
        env = product_env(
            bot_database_url,
            sandbox_url=sandbox.base_url,
            rate_scale="1000000",
            web_port=str(port),
            bootstrap_api_token=TOKEN,
            discord_admin_guild_id=str(AdminServer().guild_id),
        )
        log = artifacts / "sandbox-readme-bot.log"
        with log.open("wb") as out:
            bot = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "bot", env=env, cwd=artifacts, stdout=out, stderr=out
            )
        try:
            await _readme(sandbox, port, browser, artifacts)
        finally:
            bot.terminate()
            await bot.wait()


async def _readme(server: SandboxServer, port: int, browser: Browser, artifacts: Path) -> None:
    async with aiohttp.ClientSession(f"http://127.0.0.1:{port}") as http:
        await until(lambda: _healthy(http), timeout_s=60, what="/healthz")

    async def registered() -> bool:
        return any(c["name"] == "course" for c in await _commands(server))

    await until(registered, timeout_s=60, what="the bot's slash commands")
    base = server.base_url
    context = await browser.new_context(viewport=DESKTOP)
    page = await context.new_page()
    errors: list[str] = []
    page.on(
        "console", lambda m: errors.append(f"{page.url}: {m.text}") if m.type == "error" else None
    )
    screens = Screens(page, artifacts)
    shoot = screens.shoot

    # 1. Ada, the instructor.
    await act_as(page, base, "ada")
    await shoot("readme-1-ada")

    # 2. /course create in the admin server: kind, roster file, the modal, the preview, Confirm.
    await page.get_by_role("link", name=AdminServer().name, exact=True).click()
    await page.wait_for_selector("#cmd-course-create")
    await page.click("#cmd-course-create summary")
    await page.select_option("#course-create-kind", "laboratory")
    await run_command(page, "course-create", {}, {"roster": ROSTER})
    modal = page.locator("#reply-course-create .modal")
    await modal.wait_for(timeout=30_000)
    await shoot("readme-2-modal")
    await asyncio.sleep(MODAL_READ_S)
    for label, value in {
        "Course code": "CS101",
        "Title": "Introduction to Programming",
        "Term": "2027-spring",
        "GitHub organization": "demo-university",
        "Your GitHub login": "ada",
    }.items():
        await modal.get_by_label(label).fill(value)
    await modal.get_by_role("button", name="Submit").click()
    confirm = page.get_by_role("button", name="Confirm")
    await confirm.wait_for(timeout=30_000)
    preview = await page.inner_text("#reply-course-create")
    assert "CS101" in preview, preview
    await shoot("readme-3-preview")
    await confirm.click()
    await page.locator("dt", has_text="Install link").wait_for(timeout=30_000)
    await page.locator("h4", has_text="Course created").scroll_into_view_if_needed()
    await shoot("readme-4-confirmed")
    answer = "main"
    install = await field_value(page, answer, "Install link")
    code = (await field_value(page, answer, "Claim code")).split()[0].strip("`")
    admin_page = page.url

    # 3. A new server, the bot added with the install link.
    await page.goto(f"{base}/_sandbox/")
    await page.fill("#guild-name", "CS101")
    await page.get_by_role("button", name="Create server").click()
    await page.wait_for_selector("h1 >> text=#general")
    course_server = page.url.split("?")[0]
    await page.fill("#install-link", install)
    await page.get_by_role("button", name="Open the install link").click()
    await page.wait_for_selector("text=Add to server")
    await shoot("readme-5-install")
    await page.get_by_role("button", name="Authorize").click()
    await page.wait_for_selector("text=has been added to CS101")
    # Back to the server with the browser's back button: past the install page, to the server.
    await page.go_back()
    await page.go_back()
    assert page.url.startswith(course_server), page.url
    await page.reload()
    await page.wait_for_selector("#cmd-course-claim")

    # 4. /course claim with the code.
    await run_command(page, "course-claim", {"code": code})
    await reply_text(page, "course-claim", "the server of CS101")
    await shoot("readme-6-claimed")

    # 5. /course status in the admin server, the course picked from the suggestions.
    await page.goto(admin_page)
    await page.wait_for_selector("#cmd-course-status")

    async def done() -> bool:
        await pick_course(page, "course-status", "CS1")
        await reply_text(page, "course-status", "CS101")
        title = page.locator("#reply-course-status .embed-title").first
        return (await title.inner_text()).endswith(": Done")

    await until(done, timeout_s=180, what="/course status to say Done", every_s=2)
    await shoot("readme-7-status-done")

    # 6. /course invites, and Bob (lab-01 in the roster) opens his group's link.
    await pick_course(page, "course-invites", "CS1")
    await reply_text(page, "course-invites", "Invite links")
    await page.locator("#reply-course-invites .embed").scroll_into_view_if_needed()
    await shoot("readme-8-invites")
    shown = await page.inner_text("#reply-course-invites")
    links = [w for w in shown.split() if "/invite/" in w]
    lab01 = await field_value(page, "#reply-course-invites", "lab-01")
    link = next(w for w in lab01.split() if "/invite/" in w)
    assert link.startswith(f"{base}/invite/"), shown
    assert len(links) >= 2, shown

    await act_as(page, base, "bob")
    await page.goto(link)
    await page.get_by_role("button", name="Accept invite").wait_for()
    assert "CS101" in await page.inner_text("main")
    await shoot("readme-9-invite")
    await page.get_by_role("button", name="Accept invite").click()
    await page.wait_for_selector("nav.channels")
    assert page.url.startswith(course_server)
    assert (await page.inner_text("h1")).startswith("#lab-01")  # the invite's channel
    seen = await page.locator("nav.channels li").all_inner_texts()
    await shoot("readme-10-student")
    # A group link is for one student: used once, it is Discord's "Invite Invalid" page.
    await page.goto(link)
    await page.get_by_role("heading", name="Invite Invalid").wait_for()
    await shoot("readme-11-invite-used-up")
    await context.close()

    # The server's own #general and voice channel, the course's category, and of the lab
    # channels only Bob's group's (lab-01; Carol's lab-02 stays hidden).
    assert seen == [
        "# general",
        "# announcements",
        "# general",
        "# lectures",
        "# qa-help",
        "General (voice)",
        "# lab-01",
    ], seen
    assert not screens.problems, screens.problems
    # The install page has no icon (its 404 is logged); the used-up invite's page is a 404.
    expected = ("/oauth2/authorize", f"{link}: Failed to load resource")
    assert [e for e in errors if not any(x in e for x in expected)] == []
