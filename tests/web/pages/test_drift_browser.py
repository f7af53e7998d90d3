"""The course page's drift section in Debian's Chromium: after a reconcile repaired what
people changed by hand, staff read what, who and when."""

from __future__ import annotations

import re
from pathlib import Path

from playwright.async_api import Browser, expect

from provisioning.courses.drift_findings import GITHUB_UNKNOWN
from sandbox.server import SandboxServer
from tests.e2e.harness import Control, Product, discord_world, provision_both
from tests.web.pages.browser_steps import new_context, shoot, sign_in_with_token


async def test_the_course_page_shows_what_the_last_reconcile_repaired_and_who_changed_it(
    live: Product,
    live_url: str,
    live_sandbox: SandboxServer,
    live_control: Control,
    people: dict[str, str],
    browser: Browser,
    artifacts: Path,
) -> None:
    """Before any reconcile the page says the course was not checked yet; Ada takes Grace's TA
    role away in Discord and Grace leaves the TA team; after the reconcile the course page
    lists both repairs: the role with Ada named, the team with why GitHub names nobody."""
    done = await provision_both(live, live_control, people)
    token = await live.built.tokens.create("operator")
    context = await new_context(browser)
    page = await context.new_page()
    await sign_in_with_token(page, live_url, token)
    await page.goto(f"{live_url}/app/courses/{done.lab_id}")
    await expect(page.locator("#drift-summary")).to_contain_text("Not checked yet")

    grace = people["grace"]
    guild = discord_world(live_sandbox).guilds[int(done.lab_guild)]
    ta_role = next(r.id for r in guild.roles.values() if r.name == "TA")
    await live_control.call(
        "DELETE",
        f"/discord/guilds/{done.lab_guild}/members/{grace}/roles/{ta_role}",
        json={"actor": "ada"},
    )
    await live.built.github.remove_team_membership(
        "demo-university", "cs201-2027-fall-tas", "grace"
    )
    await live.built.reconcile.start(done.lab_id)
    await live.run()
    await live.built.reconcile.finish(done.lab_id)

    await page.reload()
    # The live stream's first event re-renders the section once: read it after that.
    await expect(page.locator("#live")).to_have_attribute("data-updated", re.compile(r"\d+"))
    drift = page.locator("#drift")
    await expect(page.locator("#drift-summary")).to_contain_text("2 changes made by hand")
    role_row = drift.locator(f'tr[data-step="discord.member-role:{grace}"]')
    await expect(role_row).to_contain_text("Discord member Grace (@grace)")
    await expect(role_row).to_contain_text("the role TA was taken away")
    await expect(role_row).to_contain_text("the role TA given back")
    await expect(role_row.locator('td[data-label="Changed by"]')).to_contain_text("Ada (@ada)")
    team_row = drift.locator('tr[data-step="github.invite:tas:grace"]')
    await expect(team_row).to_contain_text("GitHub team cs201-2027-fall-tas")
    await expect(team_row).to_contain_text("grace was no longer a member")
    await expect(team_row).to_contain_text(f"Unknown: {GITHUB_UNKNOWN}")
    await drift.scroll_into_view_if_needed()
    await shoot(page, artifacts, "course-drift")
    for width, name in ((1280, "desktop"), (390, "phone")):
        await page.set_viewport_size({"width": width, "height": 900})
        await drift.screenshot(path=str(artifacts / f"page-course-drift-section-{name}.png"))
    await context.close()
