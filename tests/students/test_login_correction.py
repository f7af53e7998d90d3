"""A mistyped roster login that is somebody else's real account, invited already: the student
signs in with their own account on the join page; the invitation that went to the wrong account
is withdrawn (`DELETE /orgs/{org}/invitations/{id}`) and theirs is sent, by steps. Had the wrong
account accepted already, nothing is changed, nobody is removed, and staff are told in the
course log what happened and what to do."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Browser, expect
from sqlalchemy import select

from db.models import RosterLink
from provisioning.courses.spec import parse_course
from provisioning.errors import PlatformError
from provisioning.students.sign_in import GitHubIdentity
from sandbox.discord.config import AdminServer
from sandbox.server import SandboxServer
from tests.e2e.harness import ORG, Control, all_steps, audit_rows, github_state, logins, until
from tests.students.conftest import Site
from tests.students.mailbox import Mailbox
from tests.students.test_join_email import lab_with_emails
from tests.students.test_join_flow import consent, join_link
from tests.web.pages.browser_steps import new_context, shoot, sign_in_with_token

WRONG = "s-3-1-typo"  # a real GitHub account, not Barbara's
RIGHT = "s-3-1"
ADDRESS = "s-3-1@example.edu"
SLUG = "cs201-2027-fall-lab-03"


async def provisioned(site: Site, control: Control, people: dict[str, str]) -> str:
    """The lab with Barbara's login mistyped as another real account, which got invited."""
    data = lab_with_emails(people)
    data["students"][4]["github"] = WRONG
    data["students"][4]["email"] = ADDRESS
    await control.github_users([*logins(parse_course(data)), RIGHT])
    course_id = await site.product.create(data)
    await site.product.run()
    guild = await control.server_with_bot(parse_course(data))
    await site.product.claim(course_id, guild, people["ada"])
    await site.product.run()
    return course_id


def invited(sandbox: SandboxServer) -> set[str]:
    """The logins with a pending invitation to the course's organization."""
    state = github_state(sandbox)
    return {i.login for i in state.org_invitations.values() if i.org == ORG}


async def test_the_wrong_accounts_invitation_is_withdrawn_and_the_right_one_invited(
    site: Site,
    control: Control,
    mailbox: Mailbox,
    people: dict[str, str],
    sandbox: SandboxServer,
    browser: Browser,
    artifacts: Path,
) -> None:
    """Barbara signs in as s-3-1 while the roster says s-3-1-typo (invited, pending): the
    invitation of s-3-1-typo disappears from the organization's, s-3-1's is there, the team
    holds s-3-1 only, and the join page and the roster say the login was corrected."""
    course_id = await provisioned(site, control, people)
    assert WRONG in invited(sandbox)
    page = await (await browser.new_context(viewport={"width": 1100, "height": 900})).new_page()
    link = join_link(site, mailbox, ADDRESS)
    await page.goto(link)
    await page.get_by_role("link", name="Sign in with GitHub").click()
    await consent(page, RIGHT)
    done = page.locator("ul.done")
    await expect(done).to_contain_text(f"The roster said {WRONG}; it now says {RIGHT}")
    await expect(done).to_contain_text(f"The invitation that went to {WRONG} by mistake is being")

    await site.product.run()  # the withdrawal and the new invitation, as steps
    await page.goto(link)
    await expect(done).to_contain_text(f"The invitation that went to {WRONG} by mistake was")
    await expect(page.locator("ul.left")).to_contain_text(
        f"Accept the invitation to the GitHub organization {ORG}."
    )
    await page.screenshot(path=str(artifacts / "join-correction-withdrawn.png"), full_page=True)

    assert WRONG not in invited(sandbox)
    assert RIGHT in invited(sandbox)
    team = next(t for t in github_state(sandbox).teams.values() if t.slug == SLUG)
    assert set(team.members) == {RIGHT, "s-3-2"}
    roster = {p.github: p for p in (await site.product.built.roster.page(course_id)).people}
    assert WRONG not in roster
    barbara = roster[RIGHT]
    assert (barbara.corrected_from, barbara.withdrawal, barbara.github_verified) == (
        WRONG,
        "withdrawn",
        True,
    )
    assert barbara.github_state == "invitation_pending"
    assert not barbara.stuck
    steps = {s.key: s for s in await all_steps(site.product.sessions, course_id)}
    withdrawal = steps[f"github.invite:lab-03:{WRONG}"]
    assert (withdrawal.kind, withdrawal.state) == ("github.uninvite", "succeeded")
    assert withdrawal.facts is not None
    assert withdrawal.facts["cancelled_invitation"]
    deletes = [
        r.path
        for r in await audit_rows(site.product.sessions)
        if r.method == "DELETE" and r.path and "/invitations/" in r.path
    ]
    assert deletes == [f"/orgs/{ORG}/invitations/{withdrawal.facts['cancelled_invitation']}"]
    # Staff read it in the course page's roster table.
    token = await site.product.built.tokens.create("staff")
    staff = await (await new_context(browser)).new_page()
    await sign_in_with_token(staff, site.url, token)
    await staff.goto(f"{site.url}/app/courses/{course_id}#roster")
    github_cell = staff.locator(f'tr[data-person="{RIGHT}"] td[data-label="GitHub"]')
    await expect(github_cell).to_contain_text("Invitation pending")
    await expect(github_cell).to_contain_text("Verified")
    await expect(github_cell).to_contain_text(f"Corrected from {WRONG}, its invitation withdrawn")
    await expect(github_cell.locator(".checked time")).to_have_count(1)
    await shoot(staff, artifacts, "course-roster-corrected")
    await staff.locator("#roster").screenshot(
        path=str(artifacts / "page-course-roster-corrected-table.png")
    )

    # A course retry re-verifies the withdrawal: nothing is sent again.
    await site.product.courses.retry(course_id, actor="test")
    await site.product.run()
    assert WRONG not in invited(sandbox)


@pytest.fixture
async def connected(site: Site) -> AsyncIterator[Site]:
    """The site's bot connected to the sandbox's gateway (the course log reads its cache)."""
    client = site.product.built.discord_client
    task = asyncio.create_task(client.connect(reconnect=True))
    try:
        await until(
            lambda: client.get_guild(AdminServer().guild_id) is not None,
            timeout_s=10,
            what="the bot to see the admin server",
        )
        yield site
    finally:
        await client.close()
        await asyncio.wait([task], timeout=5)


async def course_log(control: Control) -> list[dict[str, Any]]:
    """The embeds of #course-log in the admin server, oldest first, as members see them."""
    guild = await control.call("GET", f"/discord/guilds/{AdminServer().guild_id}")
    channel = next(c for c in guild["channels"] if c["name"] == "course-log")
    messages = await control.call("GET", f"/discord/channels/{channel['id']}/messages")
    return [m["embeds"][0] for m in messages]


async def test_an_accepted_wrong_account_is_refused_and_staff_are_told_in_the_course_log(
    connected: Site,
    control: Control,
    mailbox: Mailbox,
    people: dict[str, str],
    sandbox: SandboxServer,
    browser: Browser,
    artifacts: Path,
) -> None:
    """s-3-1-typo accepted the invitation before Barbara signed in: she is told nothing changed
    and staff were told; nobody is removed or invited; #course-log gets one message naming
    her, what she tried and what staff should do, posted once."""
    site = connected
    course_id = await provisioned(site, control, people)
    await control.call("POST", f"/github/orgs/{ORG}/invitations/{WRONG}/accept", json={})
    await site.product.built.course_log.post_due()  # the course's milestones so far
    before = len(await course_log(control))

    page = await (await browser.new_context()).new_page()
    link = join_link(site, mailbox, ADDRESS)
    await page.goto(link)
    await page.get_by_role("link", name="Sign in with GitHub").click()
    await consent(page, RIGHT)
    await expect(page.locator("h1")).to_have_text("Not done")
    await expect(page.locator(".problem")).to_contain_text(
        f"the GitHub account {WRONG} has already accepted the invitation to {ORG}. Nothing was "
        "changed and nobody was removed"
    )
    await page.screenshot(path=str(artifacts / "join-correction-refused.png"), full_page=True)

    await site.product.run()
    team = next(t for t in github_state(sandbox).teams.values() if t.slug == SLUG)
    assert team.members[WRONG].state == "active"
    assert RIGHT not in team.members
    assert RIGHT not in invited(sandbox)
    roster = {p.github: p for p in (await site.product.built.roster.page(course_id)).people}
    assert roster[WRONG].github_verified is False

    assert await site.product.built.course_log.post_due() == 1
    assert await site.product.built.course_log.post_due() == 0
    [notice] = (await course_log(control))[before:]
    assert notice["title"] == "CS201 · 2027-fall: Student 3-1 needs staff"
    text = notice["description"]
    assert f"Student 3-1 (roster login {WRONG}, lab-03) signed in with GitHub as {RIGHT}" in text
    assert f"the account {WRONG} has already accepted" in text
    assert "nobody was removed" in text
    assert (
        f"**What to do:** Find out who {WRONG} is. If it is not Student 3-1, remove {WRONG} "
        f"from the team {SLUG} and the organization {ORG} on GitHub. Then correct the roster "
        f"login to {RIGHT}"
    ) in text
    assert notice["footer"]["text"] == f"Course id {course_id}"

    # She tries again: refused again, and staff are not told the same thing twice.
    await page.goto(link)
    await page.get_by_role("link", name="Sign in with GitHub").click()
    await consent(page, RIGHT)
    await expect(page.locator("h1")).to_have_text("Not done")
    assert await site.product.built.course_log.post_due() == 0


async def test_an_acceptance_after_the_sign_in_stops_the_withdrawal_and_staff_are_told(
    connected: Site,
    control: Control,
    mailbox: Mailbox,
    people: dict[str, str],
    sandbox: SandboxServer,
    browser: Browser,
    artifacts: Path,
) -> None:
    """s-3-1-typo accepts in the moment between Barbara's sign-in and the withdrawal step:
    the step removes nobody and waits for staff; the join page and the roster say so, and
    #course-log gets one message with what to do."""
    site = connected
    course_id = await provisioned(site, control, people)
    await site.product.built.course_log.post_due()
    before = len(await course_log(control))
    page = await (await browser.new_context(viewport={"width": 1100, "height": 900})).new_page()
    link = join_link(site, mailbox, ADDRESS)
    await page.goto(link)
    await page.get_by_role("link", name="Sign in with GitHub").click()
    await consent(page, RIGHT)
    await expect(page.locator("ul.done")).to_contain_text(f"it now says {RIGHT}")
    await control.call("POST", f"/github/orgs/{ORG}/invitations/{WRONG}/accept", json={})

    await site.product.run()
    team = next(t for t in github_state(sandbox).teams.values() if t.slug == SLUG)
    assert team.members[WRONG].state == "active"
    assert RIGHT in invited(sandbox)
    steps = {s.key: s for s in await all_steps(site.product.sessions, course_id)}
    assert steps[f"github.invite:lab-03:{WRONG}"].state == "awaiting_action"
    await page.goto(link)
    await expect(page.locator("ul.left")).to_contain_text(
        f"The invitation that went to {WRONG} by mistake was accepted by that account before "
        "it could be withdrawn: your course staff have been told"
    )
    await page.screenshot(path=str(artifacts / "join-correction-accepted.png"), full_page=True)
    barbara = {p.github: p for p in (await site.product.built.roster.page(course_id)).people}[RIGHT]
    assert barbara.withdrawal == "needs_staff"
    assert barbara.problem is not None
    assert f"the GitHub account {WRONG} accepted the invitation meant for Student 3-1" in (
        barbara.problem
    )

    assert await site.product.built.course_log.post_due() >= 1
    assert await site.product.built.course_log.post_due() == 0
    notices = [
        e for e in (await course_log(control))[before:] if e["title"].endswith("needs staff")
    ]
    [notice] = notices
    assert notice["title"] == "CS201 · 2027-fall: Student 3-1 needs staff"
    assert (
        f"Student 3-1 corrected their GitHub login on the join page from {WRONG} to {RIGHT}, "
        f"but the account {WRONG} accepted the course's invitation before it could be "
        "withdrawn. Nobody was removed."
    ) in notice["description"]
    assert f"**What to do:** The GitHub account {WRONG} accepted" in notice["description"]
    assert f"remove {WRONG} from the team {SLUG}" in notice["description"]


async def test_github_unreachable_during_the_check_changes_nothing(
    site: Site, control: Control, mailbox: Mailbox, people: dict[str, str], sandbox: SandboxServer
) -> None:
    """GitHub answers 503 to the check of the wrong account: the sign-in fails as a whole (the
    roster, its links and the invitations as they were); signing in again once GitHub is back
    corrects the login."""
    course_id = await provisioned(site, control, people)
    token = join_link(site, mailbox, ADDRESS).rsplit("/", 1)[1]
    actions = site.product.built.services.join.actions
    assert actions is not None
    me = GitHubIdentity(login=RIGHT, id="3001")
    await control.fault(
        kind="status",
        platform="github",
        method="GET",
        path=f"/orgs/{ORG}/teams/*/memberships/{WRONG}",
        status=503,
    )
    with pytest.raises(PlatformError):
        await actions.github_signed_in(token, me)
    roster = {p.github: p for p in (await site.product.built.roster.page(course_id)).people}
    assert WRONG in roster
    assert RIGHT not in roster
    assert WRONG in invited(sandbox)
    async with site.product.sessions() as session:
        links = (await session.scalars(select(RosterLink))).all()
    # Bound for the attempt, unbound when it failed.
    assert [link.github_login for link in links] == [None]

    await control.clear_faults()
    done = await actions.github_signed_in(token, me)
    assert f"it now says {RIGHT}" in done.message
    await site.product.run()
    assert WRONG not in invited(sandbox)
    assert RIGHT in invited(sandbox)
