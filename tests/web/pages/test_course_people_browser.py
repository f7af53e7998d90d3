"""The course page's roster, invite links and End of term, in Debian's Chromium: staff see the
roster a page at a time and the live invite links with a working Copy button; a read-only token
sees the roster but neither invite links nor Archive; Archive → preview → Confirm archives the
course, and Unarchive brings it (and new invite links) back."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.async_api import Browser, expect

from tests.e2e.harness import Control, Product, provision_lab_on_discord
from tests.web.pages.browser_steps import accessible, new_context, shoot, sign_in_with_token
from web.pages import course_people

LIVE_TIMEOUT_MS = 60_000


async def test_staff_see_roster_and_invites_readers_do_not_and_the_term_ends_and_comes_back(
    live: Product,
    live_url: str,
    live_control: Control,
    people: dict[str, str],
    browser: Browser,
    artifacts: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Five people a page, so the 8 of this laboratory take two.
    monkeypatch.setattr(course_people, "ROSTER_PAGE", 5)
    course_id, _guild, data = await provision_lab_on_discord(live, live_control, people)
    course_url = f"{live_url}/app/courses/{course_id}"
    token = await live.built.tokens.create("operator")
    context = await new_context(browser)
    await context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live_url)
    page = await context.new_page()
    await sign_in_with_token(page, live_url, token)
    await page.goto(course_url)

    roster = page.get_by_role("region", name="Roster", exact=True)
    rows = roster.locator("tbody tr")
    await expect(rows).to_have_count(5)
    # Staff first, in roster order; the students on Discord have their roles set.
    first = data["staff"][0]
    await expect(rows.first).to_contain_text(first["name"])
    bob = data["students"][0]
    bob_row = page.locator(f'tr[data-person="{bob["github"]}"]')
    await expect(bob_row.locator('td[data-label="E-mail"]')).to_contain_text(
        "No address" if "email" not in bob else "Sent"
    )
    await expect(bob_row.locator('td[data-label="GitHub"]')).to_contain_text("Invitation pending")
    # Bob's Discord id is on the roster and he is in the server: his `discord.student-roles`
    # step gave him the Student and group roles.
    await expect(bob_row.locator('td[data-label="Discord"]')).to_contain_text("Joined, roles set")
    ada_row = page.locator(f'tr[data-person="{first["github"]}"]')
    await expect(ada_row.locator('td[data-label="Discord"]')).to_contain_text("Joined, roles set")

    invites = page.get_by_role("region", name="Invite links", exact=True)
    links = invites.locator("tbody tr")
    groups = data["groups"]
    # One for the course's students, one per lab group.
    await expect(links).to_have_count(len(groups) + 1)
    await expect(page.locator('tr[data-invite="students"] td[data-label="For"]')).to_have_text(
        "All students"
    )
    for group in groups:
        row = page.locator(f'tr[data-invite="{group}"]')
        await expect(row.locator('td[data-label="For"]')).to_have_text(f"Lab group {group}")
        await expect(row.locator('td[data-label="Link"] code')).to_contain_text(
            live.built.endpoints.invite_url
        )
        # The role names Discord shows: the group's ("Lab 01") and Student.
        role = group.replace("-", " ").title()
        await expect(row.locator('td[data-label="Grants"]')).to_have_text(f"{role}, Student")
        await expect(row.locator('td[data-label="Expires"]')).not_to_be_empty()
    lab_link = page.locator(f'tr[data-invite="{groups[0]}"]')
    first_link = (await lab_link.locator("code").inner_text()).strip()
    copy = lab_link.get_by_role("button", name=f"Copy the link for {groups[0]}")
    await copy.click()
    await expect(copy).to_have_text("Copied")
    assert await page.evaluate("navigator.clipboard.readText()") == first_link
    await shoot(page, artifacts, "course-roster-invites")
    # Staff come for the links and the roster: both are above the step tables.
    tables = page.locator("table.step-table")
    await expect(tables.first).to_be_attached()
    steps_top = (await tables.first.bounding_box() or {"y": 0})["y"]
    for part in (invites, roster):
        assert (await part.bounding_box() or {"y": steps_top})["y"] < steps_top

    await roster.page.get_by_role("link", name="Next people").click()
    await expect(
        page.get_by_role("region", name="Roster", exact=True).locator("tbody tr")
    ).to_have_count(3)
    await expect(page.get_by_role("link", name="First people")).to_be_visible()
    await expect(page.get_by_role("link", name="Next people")).to_have_count(0)
    await accessible(page)

    # End of term: Archive → what changes → Confirm.
    await page.goto(course_url)
    await page.get_by_role("link", name="Archive…").click()
    await expect(page.get_by_role("heading", level=1)).to_contain_text(f"Archive {data['code']}?")
    changes = page.get_by_role("region", name="Resources that change")
    await expect(changes.locator(f'tr[data-resource="github.repo:{groups[0]}"]')).to_contain_text(
        "Archived: read-only, kept"
    )
    await expect(
        changes.locator(f'tr[data-resource="discord.invite:{groups[0]}"]')
    ).to_contain_text("Invite link revoked")
    await shoot(page, artifacts, "course-archive-preview")
    await page.get_by_role("button", name=f"Confirm: archive {data['code']}").click()
    await expect(page).to_have_url(f"{course_url}?archive=done")
    await expect(page.get_by_role("status").first).to_contain_text("Archived")
    await expect(page.locator("#archived")).to_have_text("Archived")
    assert (await live.courses.get(course_id)).archived_at is not None
    await live.run()
    await page.reload()
    await expect(page.locator("[data-state]")).to_have_attribute("data-state", "succeeded")
    await expect(invites).to_contain_text("archiving revokes its invite links")
    await expect(page.get_by_role("link", name="Unarchive…")).to_be_visible()
    await shoot(page, artifacts, "course-archived")

    await page.get_by_role("link", name="Unarchive…").click()
    await expect(page.get_by_role("heading", level=1)).to_contain_text(f"Unarchive {data['code']}?")
    await accessible(page)
    await page.get_by_role("button", name=f"Confirm: unarchive {data['code']}").click()
    await expect(page).to_have_url(f"{course_url}?unarchive=done")
    await expect(page.locator("#archived")).to_have_count(0)
    await live.run()
    await page.reload()
    await expect(page.locator("[data-state]")).to_have_attribute("data-state", "succeeded")
    await expect(links).to_have_count(len(groups) + 1)
    new_link = (await lab_link.locator("code").inner_text()).strip()
    assert new_link != first_link, "unarchiving makes new invite links"
    await expect(page.get_by_role("link", name="Archive…")).to_be_visible()
    await context.close()

    # A read-only token: the roster, but no invite links, no Archive, and no way round them.
    reader = await live.built.tokens.create("reader", read_only=True)
    reading = await new_context(browser)
    page = await reading.new_page()
    await sign_in_with_token(page, live_url, reader)
    await page.goto(course_url)
    await expect(page.get_by_role("region", name="Roster", exact=True)).to_be_visible()
    await expect(page.get_by_role("region", name="Invite links", exact=True)).to_have_count(0)
    await expect(page.get_by_role("heading", name="Invite links")).to_have_count(0)
    await expect(page.get_by_role("link", name="Archive…")).to_have_count(0)
    await expect(page.locator("main")).not_to_contain_text(live.built.endpoints.invite_url)
    await shoot(page, artifacts, "course-read-only")
    response = await page.goto(f"{course_url}/archive")
    assert response is not None
    assert response.status == 403
    await expect(page.locator("main")).to_contain_text("admin role")
    await reading.close()
