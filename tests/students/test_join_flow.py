"""Students get in, in a real browser: a 3-group laboratory where everybody gets one e-mail and
three students go through the join page (one with a mistyped roster login), signing in on the
sandbox's GitHub and Discord consent pages. At the end each of the three is in exactly their
group's team and has exactly their roles in the server, the mistyped login is corrected, and the
roster status says so for everyone. Sign-ins that do not belong are refused and change nothing."""

from __future__ import annotations

import json
import logging
import re
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from playwright.async_api import Browser, Page, expect

from provisioning.clock import SystemClock
from provisioning.courses.spec import parse_course
from provisioning.students.notices import StaffNotices
from sandbox.server import SandboxServer
from tests.e2e.harness import (
    Control,
    all_steps,
    audit_rows,
    discord_world,
    github_state,
    logins,
)
from tests.students.conftest import Site
from tests.students.mailbox import Mailbox
from tests.students.test_join_email import addresses, lab_with_emails

SLUG = "cs201-2027-fall"
TOKEN = re.compile(r"/join/([A-Za-z0-9_\-]+\.[A-Za-z0-9_\-]+)")
# Who goes through the join page: roster login, group, the GitHub account they sign in with,
# the Discord account they join with.
JOINERS = [
    ("s-1-1", "lab-01", "s-1-1", "Alan (@alan)"),
    ("s-2-1", "lab-02", "s-2-1", "Bob (@bob)"),
    ("s-3-1-typo", "lab-03", "s-3-1", "Barbara (@barbara)"),
]


async def provisioned(site: Site, control: Control, people: dict[str, str]) -> tuple[str, Any]:
    """The lab (s-3-1 mistyped on the roster), GitHub done, the server claimed and built."""
    data = lab_with_emails(people)
    data["students"][4]["github"] = "s-3-1-typo"
    spec = parse_course(data)
    await control.github_users([*(x for x in logins(spec) if x != "s-3-1-typo"), "s-3-1"])
    product = site.product
    course_id = await product.create(data)
    await product.run()
    guild = await control.server_with_bot(spec)
    await product.claim(course_id, guild, people["ada"])
    await product.run()
    return course_id, data


def join_link(site: Site, mailbox: Mailbox, address: str) -> str:
    [received] = [m for m in mailbox.received if m.recipients == [address]]
    [token] = set(TOKEN.findall(received.part("text/plain")))
    return f"{site.url}/join/{token}"


async def consent(page: Page, who: str) -> None:
    """On a sandbox authorize page: pick who you are, then Authorize."""
    await page.get_by_label("Signed in as").select_option(label=who)
    await page.locator("form.who button").click()
    await page.wait_for_load_state()
    await page.get_by_role("button", name="Authorize").click()
    await page.wait_for_load_state()


async def test_three_students_join_and_the_roster_follows(
    site: Site,
    control: Control,
    mailbox: Mailbox,
    people: dict[str, str],
    sandbox: SandboxServer,
    browser: Browser,
    artifacts: Path,
) -> None:
    """Each of three students signs in with GitHub and joins Discord from their e-mail's link;
    the mistyped login is corrected and invited; teams, roles and the roster status agree."""
    product = site.product
    course_id, data = await provisioned(site, control, people)
    assert sorted(r for m in mailbox.received for r in m.recipients) == addresses(data)
    emails_before = len(mailbox.received)

    for roster_login, group, github_login, discord_user in JOINERS:
        address = f"{roster_login.removesuffix('-typo')}@example.edu"
        context = await browser.new_context(viewport={"width": 1100, "height": 900})
        page = await context.new_page()
        await page.goto(join_link(site, mailbox, address))
        await expect(page.locator("h1")).to_have_text("CS201 Systems Lab")
        if roster_login.endswith("-typo"):
            await expect(page.locator("ul.left")).to_contain_text(
                "GitHub has no account 's-3-1-typo', the login on the roster: sign in with "
                "GitHub to correct it."
            )
            await page.screenshot(path=str(artifacts / "join-flow-mistyped.png"), full_page=True)
        await page.get_by_role("link", name="Sign in with GitHub").click()
        await consent(page, github_login)
        await expect(page.locator("ul.done")).to_contain_text(
            f"You confirmed your GitHub account {github_login}."
        )
        await product.run()  # the corrected login's invitation
        await page.get_by_role("link", name="Join the Discord server").click()
        await consent(page, discord_user)
        await expect(page.locator("ul.done")).to_contain_text(
            "You are in the course's Discord server with your roles."
        )
        await expect(page.get_by_role("link", name="Join the Discord server")).to_have_count(0)
        await page.screenshot(path=str(artifacts / f"join-flow-done-{group}.png"), full_page=True)
        await context.close()
    await product.run()

    # Nobody got a second e-mail: the correction kept the address, hence the step.
    assert len(mailbox.received) == emails_before
    state = github_state(sandbox)
    teams = {t.slug: t for t in state.teams.values() if t.slug.startswith(SLUG)}
    world = discord_world(sandbox)
    guild = next(g for g in world.guilds.values() if g.name.startswith("CS201"))
    role_ids = {r.name: r.id for r in guild.roles.values()}
    for _roster_login, group, github_login, discord_user in JOINERS:
        in_teams = {slug for slug, t in teams.items() if github_login in t.members}
        assert in_teams == {f"{SLUG}-{group}"}, github_login
        user_id = int(people[discord_user.split("@")[1].rstrip(")")])
        roles = set(guild.members[user_id].roles) - {guild.id}
        assert roles == {role_ids["Student"], role_ids[f"Lab {group[-2:]}"]}, discord_user
    assert not any("s-3-1-typo" in t.members for t in teams.values())

    roster = {p.github: p for p in (await product.built.roster.page(course_id, limit=50)).people}
    assert "s-3-1-typo" not in roster
    for _roster_login, _group, github_login, _discord_user in JOINERS:
        person = roster[github_login]
        # Joined through the page, and their `discord.student-roles` step (planned once their
        # Discord id is on the roster) found exactly their roles.
        assert (person.github_verified, person.discord, person.email) == (
            True,
            "roles_set",
            "sent",
        )
        assert person.github_state == "invitation_pending"
        assert not person.stuck
    for github_login in ("s-1-2", "s-2-2", "s-3-2"):
        person = roster[github_login]
        assert (person.github_verified, person.discord) == (False, "not_linked")
    stored = parse_course((await product.courses.get(course_id)).spec.model_dump(mode="json"))
    ids = {s.github: s.discord_id for s in stored.students}
    assert ids["s-3-1"] == people["barbara"]
    assert ids["s-1-2"] is None

    events = [r for r in await audit_rows(product.sessions, kind="event") if r.event]
    kinds = [r.event for r in events if (r.event or "").startswith("join.")]
    assert kinds.count("join.github_verified") == 2
    assert kinds.count("join.github_corrected") == 1
    assert kinds.count("join.discord_joined") == 3


async def test_foreign_state_replays_and_taken_accounts_are_refused(
    site: Site,
    control: Control,
    mailbox: Mailbox,
    people: dict[str, str],
    browser: Browser,
    artifacts: Path,
) -> None:
    """A callback whose state is not this browser's, the same callback twice, and a GitHub
    account that is on the roster for someone else are refused; staff find the refusal in the
    audit log; no roster link, no step and no e-mail changes."""
    product = site.product
    course_id, _ = await provisioned(site, control, people)
    page = await (await browser.new_context()).new_page()

    response = await page.goto(f"{site.url}/join-oauth/github/callback?code=x&state=forged")
    assert response is not None
    assert response.status == 400
    await expect(page.locator(".problem")).to_contain_text("could not be matched")

    link = join_link(site, mailbox, "s-1-1@example.edu")
    await page.goto(link)
    await page.get_by_role("link", name="Sign in with GitHub").click()
    await consent(page, "s-2-1")  # someone else's account
    await expect(page.locator("h1")).to_have_text("Not done")
    await expect(page.locator(".problem")).to_contain_text(
        "The GitHub account s-2-1 is on this course's roster for someone else."
    )
    await page.screenshot(path=str(artifacts / "join-flow-refused.png"), full_page=True)

    await page.goto(link)
    await page.get_by_role("link", name="Sign in with GitHub").click()
    await page.get_by_label("Signed in as").select_option(label="s-1-1")
    await page.locator("form.who button").click()
    await page.wait_for_load_state()
    callbacks: list[str] = []
    callback_prefix = f"{site.url}/join-oauth/"
    page.on(
        "request", lambda r: callbacks.append(r.url) if r.url.startswith(callback_prefix) else None
    )
    await page.get_by_role("button", name="Authorize").click()
    await expect(page.locator("ul.done")).to_contain_text("You confirmed your GitHub account")
    [callback] = callbacks
    replay = await page.goto(callback)
    assert replay is not None
    assert replay.status == 400
    await expect(page.locator(".problem")).to_contain_text("used already")

    refused = [
        r.request_summary
        for r in await audit_rows(product.sessions, kind="event")
        if r.event == "join.refused"
    ]
    assert refused == [
        {
            "person": "Student 1-1",
            "roster_login": "s-1-1",
            "reason": "github.taken",
            "login": "s-2-1",
        }
    ]
    roster = {p.github: p for p in (await product.built.roster.page(course_id, limit=50)).people}
    assert roster["s-2-1"].github_verified is False
    assert roster["s-1-1"].github_verified is True
    # Staff are told in the course log: who, what they tried, what to do.
    [notice] = await StaffNotices(product.sessions, SystemClock()).due()
    assert (notice.course_id, notice.person) == (course_id, "Student 1-1")
    assert notice.what == (
        "Student 1-1 (roster login s-1-1, lab-01) signed in on their join page with the GitHub "
        "account s-2-1, which the roster lists for someone else. Nothing was changed."
    )
    assert notice.todo.startswith("Find out whose account s-2-1 is, and correct the roster")


async def test_no_link_or_token_is_left_anywhere_after_a_full_run(
    site: Site,
    control: Control,
    mailbox: Mailbox,
    people: dict[str, str],
    sandbox: SandboxServer,
    browser: Browser,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """After the e-mails, a GitHub sign-in and a Discord join: no join link, invite code or
    OAuth token is in the audit log, the stored steps, the roster a read-only token reads,
    /metrics or the product's log."""
    caplog.set_level(logging.DEBUG)
    product = site.product
    course_id, _ = await provisioned(site, control, people)
    page = await (await browser.new_context()).new_page()
    await page.goto(join_link(site, mailbox, "s-2-1@example.edu"))
    await page.get_by_role("link", name="Sign in with GitHub").click()
    await consent(page, "s-2-1")
    await page.get_by_role("link", name="Join the Discord server").click()
    await consent(page, "Bob (@bob)")
    await expect(page.locator("ul.done")).to_contain_text("Discord server with your roles")

    links = {t for m in mailbox.received for t in TOKEN.findall(m.part("text/plain"))}
    world = discord_world(sandbox)
    github = github_state(sandbox)
    secrets = {
        *links,
        *(t.split(".")[1] for t in links),
        *world.invites,
        *world.oauth_tokens,
        *(t.refresh_token for t in world.oauth_tokens.values()),
        *github.oauth_scopes,
    }
    assert len(world.oauth_tokens) == 1
    assert len(github.oauth_scopes) == 1
    assert world.invites

    rows = await audit_rows(product.sessions, kind="http") + await audit_rows(
        product.sessions, kind="event"
    )
    steps = await all_steps(product.sessions, course_id)
    token = await product.built.tokens.create("reader", read_only=True)
    auth = {"Authorization": f"Bearer {token}"}
    async with aiohttp.ClientSession(site.url, headers=auth) as http:
        texts = []
        for path in (f"/courses/{course_id}/roster", f"/courses/{course_id}/status", "/metrics"):
            async with http.get(path) as response:
                assert response.status == 200, path
                texts.append(await response.text())
        async with http.get(f"/courses/{course_id}/audit?limit=100") as response:
            texts.append(await response.text())
    everything = "\n".join(
        [
            json.dumps([[r.path, r.request_summary, r.external_id, r.step_key] for r in rows]),
            json.dumps([[s.params, s.facts, s.external_id, s.last_error] for s in steps]),
            *texts,
            # The product's log; `mail.log` is the test's own mail server receiving the mail.
            *(
                json.dumps(r.__dict__, default=str) + r.getMessage()
                for r in caplog.records
                if not r.name.startswith("mail.log")
            ),
        ]
    )
    found = sorted(secret for secret in secrets if secret in everything)
    where = [
        everything[max(0, everything.index(f) - 120) : everything.index(f) + 40] for f in found
    ]
    assert found == [], where
