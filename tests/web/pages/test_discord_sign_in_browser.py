"""Sign in with Discord through the sandbox's authorize page, in Chromium: the admin role sees
every course and may retry; a course's TA sees that course only, without Retry, and gets a 403
page naming the roles on another course; someone without a role is turned away."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestServer
from playwright.async_api import Browser, Page, expect

from provisioning.courses.spec import parse_course
from provisioning.permissions import MANAGE_ROLES
from provisioning.retry import RetryPolicy
from sandbox.server import SandboxServer
from tests.e2e.discordpy import build
from tests.e2e.harness import Control, Product, e2e_settings, laboratory, lecture, logins
from tests.web.pages.browser_steps import accessible, new_context, shoot

ADMIN_ROLE = "Course Admin"


@dataclass
class World:
    product: Product
    url: str
    lab_id: str
    lecture_id: str


@contextlib.asynccontextmanager
async def _served(product: Product) -> AsyncIterator[str]:
    server = TestServer(product.built.web_app, host="127.0.0.1")
    await server.start_server()
    try:
        yield str(server.make_url("")).rstrip("/")
    finally:
        await server.close()


@pytest.fixture
async def world(
    database_url: str, live_sandbox: SandboxServer, live_control: Control, people: dict[str, str]
) -> AsyncIterator[World]:
    """An admin server where alan has the admin role; a laboratory (ada instructs, grace
    assists, one student whose GitHub login does not exist, so a step waits) provisioned on a
    claimed server; a lecture of another code, never claimed."""
    admin = await live_control.call(
        "POST", "/discord/guilds", json={"name": "Admin", "owner": "ada"}
    )
    admin_id = str(admin["id"])
    await live_control.call(
        "POST", f"/discord/guilds/{admin_id}/bot", json={"permissions": str(MANAGE_ROLES)}
    )
    await live_control.join(admin_id, "alan")
    settings = e2e_settings(
        database_url,
        live_sandbox,
        discord_admin_guild_id=admin_id,
        discord_admin_role=ADMIN_ROLE,
    )
    async with contextlib.AsyncExitStack() as stack:
        product = Product(await build(settings, stack, policy=RetryPolicy(base_s=0)))
        role = await product.built.discord.create_role(
            admin_id, name=ADMIN_ROLE, permissions=0, hoist=False, mentionable=False, reason="test"
        )
        await product.built.discord.add_member_role(
            admin_id, people["alan"], role.value.id, reason="test"
        )
        lab: dict[str, Any] = laboratory(people["ada"], people["grace"], groups=1, per_group=1)
        lab["students"].append({"name": "Ghost", "github": "no-such-login", "group": "lab-01"})
        other = lecture(people["ada"], people["grace"], code="CS999")
        spec = parse_course(lab)
        await live_control.github_users(
            [login for login in logins(spec) if login != "no-such-login"]
            + logins(parse_course(other))
        )
        lab_id = await product.create(lab)
        lecture_id = await product.create(other)
        await product.run()
        guild = await live_control.server_with_bot(spec, owner="ada")
        await live_control.join(guild, "grace")
        await product.claim(lab_id, guild, people["ada"])
        await product.run()
        states = await product.states(lab_id)
        assert "awaiting_action" in states.values()
        assert states["discord.member-role:" + people["grace"]] == "succeeded"
        async with _served(product) as url:
            yield World(product, url, lab_id, lecture_id)


async def sign_in_with_discord(
    page: Page, base: str, who: str, start: str = "/app/courses"
) -> None:
    """From a page of ours, through the sandbox's authorize page as `who`, back to that page."""
    await page.goto(f"{base}{start}")
    await page.get_by_role("link", name="Sign in with Discord").click()
    await page.get_by_label("Signed in as").select_option(label=f"{who.capitalize()} (@{who})")
    await page.locator("form.who button").click()
    await page.get_by_role("button", name="Authorize").click()


async def test_rights_come_from_discord_roles(
    world: World, browser: Browser, artifacts: Path
) -> None:
    """alan (admin role) sees both courses and Retry; grace (TA of the lab) sees the lab only,
    no Retry and no claim code, and a 403 page naming the roles for the lecture; ada
    (instructor) may retry her lab; bob (no role) is turned away."""
    admin = await (await new_context(browser)).new_page()
    await sign_in_with_discord(admin, world.url, "alan")
    await expect(admin).to_have_url(f"{world.url}/app/courses")
    await expect(admin.locator(".who")).to_contain_text(f"({ADMIN_ROLE})")
    await expect(admin.get_by_role("link", name="CS201")).to_be_visible()
    await expect(admin.get_by_role("link", name="CS999")).to_be_visible()
    await admin.goto(f"{world.url}/app/courses/{world.lab_id}")
    await expect(admin.get_by_role("button", name="Retry failed and waiting steps")).to_be_visible()
    await expect(admin.get_by_role("link", name="Archive…")).to_be_visible()

    ta_context = await new_context(browser)
    ta = await ta_context.new_page()
    await sign_in_with_discord(ta, world.url, "grace", start=f"/app/courses/{world.lab_id}")
    await expect(ta).to_have_url(f"{world.url}/app/courses/{world.lab_id}")
    await expect(ta.locator(".who")).to_contain_text("(TA)")
    await expect(ta.locator("[data-state]")).to_have_attribute("data-state", "awaiting_action")
    await expect(ta.get_by_role("button", name="Retry failed and waiting steps")).to_have_count(0)
    # Staff see the invite links; only the admin role ends the term.
    await expect(ta.get_by_role("region", name="Invite links", exact=True)).to_be_visible()
    await expect(ta.get_by_role("link", name="Archive…")).to_have_count(0)
    refused = await ta.goto(f"{world.url}/app/courses/{world.lab_id}/archive")
    assert refused is not None
    assert refused.status == 403
    await ta.goto(f"{world.url}/app/courses")
    await expect(ta.get_by_role("link", name="CS201")).to_be_visible()
    await expect(ta.get_by_role("link", name="CS999")).to_have_count(0)
    await expect(ta.get_by_role("link", name="New course")).to_have_count(0)
    response = await ta.goto(f"{world.url}/app/courses/{world.lecture_id}")
    assert response is not None
    assert response.status == 403
    await expect(ta.get_by_role("heading", name="Not allowed")).to_be_visible()
    await expect(ta.locator("main")).to_contain_text("Instructor and TA roles")
    await shoot(ta, artifacts, "forbidden")
    audit = await ta.goto(f"{world.url}/app/courses/{world.lecture_id}/audit")
    assert audit is not None
    assert audit.status == 403

    instructor = await (await new_context(browser)).new_page()
    await sign_in_with_discord(instructor, world.url, "ada", start=f"/app/courses/{world.lab_id}")
    await expect(instructor.locator(".who")).to_contain_text("(Instructor)")
    await expect(
        instructor.get_by_role("button", name="Retry failed and waiting steps")
    ).to_be_visible()
    await expect(instructor.get_by_role("region", name="Invite links", exact=True)).to_be_visible()
    await expect(instructor.get_by_role("link", name="Archive…")).to_have_count(0)

    stranger = await (await new_context(browser)).new_page()
    await sign_in_with_discord(stranger, world.url, "bob")
    await expect(
        stranger.get_by_role("heading", name="No access for this Discord account")
    ).to_be_visible()
    await accessible(stranger)


async def test_the_sign_in_page_offers_discord_and_a_forged_callback_is_refused(
    world: World, browser: Browser, artifacts: Path
) -> None:
    """The sign-in page shows both ways in (and passes axe); a callback whose state this
    browser never sent is refused with a page, and signs nobody in."""
    context = await new_context(browser)
    page = await context.new_page()
    await page.goto(f"{world.url}/app/sign-in")
    await expect(page.get_by_role("link", name="Sign in with Discord")).to_be_visible()
    await shoot(page, artifacts, "sign-in")
    forged = await page.goto(f"{world.url}/app/sign-in/discord/callback?code=abc&state=forged")
    assert forged is not None
    assert forged.status == 403
    await expect(page.get_by_role("heading", name="This sign-in link is not valid")).to_be_visible()
    await page.goto(f"{world.url}/app/courses")
    await expect(page).to_have_url(f"{world.url}/app/sign-in?next=/app/courses")
    await context.close()
