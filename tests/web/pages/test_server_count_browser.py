"""The course page warns about the bot's server count, in Debian's Chromium: at 100 servers
(the cap of unverified Discord apps) it says the bot cannot join the course's server and what
to do, without the claim box; when the count falls to 95 the open page turns into the warning
and shows the claim box again, without a reload."""

from __future__ import annotations

import re
from pathlib import Path

from playwright.async_api import Browser, expect

from provisioning.courses.spec import parse_course
from tests.e2e.harness import Control, Product, lecture, logins
from tests.web.pages.browser_steps import new_context, shoot, sign_in_with_token

LIVE_TIMEOUT_MS = 30_000


async def test_the_course_page_warns_at_the_cap_and_near_it(
    live: Product,
    live_url: str,
    live_control: Control,
    people: dict[str, str],
    browser: Browser,
    artifacts: Path,
) -> None:
    """With no gateway connection (the count read from `GET /users/@me/guilds`), 100 servers:
    the page's alert says why the server step waits and what to do, and no claim code is
    offered; at 95 the same page says how many servers are left and offers the claim again."""
    data = lecture(people["ada"], people["grace"])
    await live_control.github_users(logins(parse_course(data)))
    course_id = await live.create(data)
    await live_control.call("PUT", "/discord/bot-guilds", json={"others": 99})
    assert (await live.built.servers.check()).count == 100
    await live.run()

    token = await live.built.tokens.create("operator")
    context = await new_context(browser)
    page = await context.new_page()
    await sign_in_with_token(page, live_url, token)
    await page.goto(f"{live_url}/app/courses/{course_id}")
    alert = page.get_by_role("alert").filter(has_text="unverified Discord app")
    await expect(alert).to_contain_text("The bot cannot join another Discord server")
    await expect(alert).to_contain_text(
        "The bot is in 100 servers, and unverified Discord apps stop at 100"
    )
    await expect(alert).to_contain_text("verify the app in the Discord Developer Portal")
    await expect(alert).to_contain_text("archive old courses and remove the bot")
    await expect(page.locator("#claim-code")).to_have_count(0)
    # Nothing on the page sends anyone to add the bot: Discord would refuse it.
    await expect(page.locator("main")).not_to_contain_text(re.compile("add the bot", re.I))
    waiting = page.get_by_role("region", name="Waiting for a person", exact=True)
    await expect(waiting).to_contain_text("it cannot be added to this course's server")
    await shoot(page, artifacts, "server-cap")

    await live_control.call("PUT", "/discord/bot-guilds", json={"others": 94})
    assert (await live.built.servers.check()).count == 95
    await live.run()
    await expect(alert).to_contain_text(
        "The bot nears Discord's server limit", timeout=LIVE_TIMEOUT_MS
    )
    await expect(alert).to_contain_text(
        "The bot is in 95 of the 100 servers an unverified Discord app may join: 5 more "
        "course servers can be claimed."
    )
    await expect(page.locator("#claim-code")).to_be_visible(timeout=LIVE_TIMEOUT_MS)
    await expect(page.locator("main")).to_contain_text(re.compile("add the bot", re.I))
    await shoot(page, artifacts, "server-count-warning")
    await context.close()
