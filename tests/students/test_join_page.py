"""The join page as a student sees it, in Chromium: their course, what is done and what is
left; every link that cannot be used gets a page saying why, and changes nothing."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestServer
from axe_playwright_python.async_playwright import Axe
from playwright.async_api import Browser, expect

from provisioning.clock import SystemClock
from provisioning.students.links import JoinLinks
from sandbox.server import SandboxServer
from tests.e2e.harness import SECRET, Control, Product, all_steps, audit_rows, github_state
from tests.students.mailbox import Mailbox
from tests.students.test_join_email import LINK, PUBLIC_URL
from tests.students.test_roster_status import provisioned_with_trouble


@pytest.fixture
async def site(product: Product) -> AsyncIterator[str]:
    """The product's web application on a real 127.0.0.1 server; its base URL."""
    server = TestServer(product.built.web_app, host="127.0.0.1")
    await server.start_server()
    try:
        yield str(server.make_url("")).rstrip("/")
    finally:
        await server.close()


def token_of(mailbox: Mailbox, address: str) -> str:
    [received] = [m for m in mailbox.received if m.recipients == [address]]
    [token] = set(LINK.findall(received.part("text/plain")))
    return token


async def snapshot(product: Product) -> list[Any]:
    steps = [(s.key, s.state, s.attempts, s.facts) for s in await all_steps(product.sessions)]
    audit = [r.id for r in await audit_rows(product.sessions, kind="event")]
    return [steps, audit]


async def test_a_student_sees_the_course_and_what_is_left(
    product: Product,
    control: Control,
    mailbox: Mailbox,
    people: dict[str, str],
    site: str,
    browser: Browser,
    artifacts: Path,
) -> None:
    """The page from the e-mail shows the course, the student's group and login, the GitHub
    invitation to accept (with its link) and that the Discord server is not ready yet; it is
    private (no cache, no referrer) and passes an accessibility check."""
    await provisioned_with_trouble(product, control, people)
    token = token_of(mailbox, "s-2-1@example.edu")
    before = await snapshot(product)
    page = await browser.new_page()
    response = await page.goto(f"{site}/join/{token}")
    assert response is not None
    assert response.status == 200
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["referrer-policy"] == "no-referrer"
    assert await page.title() == "Join CS201 Systems Lab"
    assert await page.locator("h1").inner_text() == "CS201 Systems Lab"
    body = await page.locator("main").inner_text()
    assert "Hello Student 2-1" in body
    assert "lab group lab-02" in body
    assert "your GitHub login on the roster is s-2-1" in body
    left = await page.locator("ul.left li").all_inner_texts()
    assert left[0] == "Sign in with GitHub, so the invitation reaches your own account."
    assert left[1] == "Accept the invitation to the GitHub organization demo-university."
    assert left[2].startswith("The course's Discord server is not ready yet")
    assert await page.get_by_role("link", name="Sign in with GitHub").count() == 1
    # No server yet: no button to join it.
    assert await page.get_by_role("link", name="Join the Discord server").count() == 0
    button = page.get_by_role("link", name="Accept the GitHub invitation")
    # In development GitHub's pages are the sandbox's.
    invitation = (
        f"{product.built.endpoints.sandbox_url}/_sandbox/github/orgs/demo-university/invitation"
    )
    assert await button.get_attribute("href") == invitation
    await page.screenshot(path=str(artifacts / "join-page-desktop.png"), full_page=True)
    await page.set_viewport_size({"width": 390, "height": 844})
    await page.screenshot(path=str(artifacts / "join-page-phone.png"), full_page=True)
    await page.close()

    context = await browser.new_context(bypass_csp=True)
    checked = await context.new_page()
    await checked.goto(f"{site}/join/{token}")
    results = await Axe().run(checked)
    assert results.violations_count == 0, results.generate_report()
    await context.close()
    assert await snapshot(product) == before


async def test_the_invitation_link_leads_to_the_sandboxs_invitation_page(
    product: Product,
    sandbox: SandboxServer,
    control: Control,
    mailbox: Mailbox,
    people: dict[str, str],
    site: str,
    browser: Browser,
    artifacts: Path,
) -> None:
    """In development "Accept the GitHub invitation" opens the sandbox's GitHub invitation
    page: the student says who they are on GitHub, sees the invitation, joins the organization
    with one click, and the page then says they are a member."""
    await provisioned_with_trouble(product, control, people)
    token = token_of(mailbox, "s-2-1@example.edu")
    page = await browser.new_page()
    await page.goto(f"{site}/join/{token}")
    await page.get_by_role("link", name="Accept the GitHub invitation").click()
    await expect(page.get_by_role("heading", level=1)).to_have_text(
        "Join demo-university on GitHub"
    )
    await page.get_by_label("GitHub login").select_option("s-2-1")
    await page.get_by_role("button", name="Continue as this person").click()
    status = page.get_by_role("status")
    await expect(status).to_contain_text("@demo-university invited you to join")
    await page.screenshot(path=str(artifacts / "github-invitation-desktop.png"), full_page=True)
    await page.get_by_role("button", name="Join demo-university").click()
    await expect(status).to_contain_text("You are a member of demo-university")
    await page.screenshot(path=str(artifacts / "github-invitation-joined.png"), full_page=True)
    assert github_state(sandbox).orgs["demo-university"].members.get("s-2-1") == "member"
    await page.close()


async def test_a_mistyped_login_is_explained(
    product: Product,
    control: Control,
    mailbox: Mailbox,
    people: dict[str, str],
    site: str,
    browser: Browser,
    artifacts: Path,
) -> None:
    """A student whose roster login GitHub does not know reads that, and how to fix it."""
    await provisioned_with_trouble(product, control, people)
    page = await browser.new_page()
    await page.goto(f"{site}/join/{token_of(mailbox, 's-1-2@example.edu')}")
    left = await page.locator("ul.left li").all_inner_texts()
    assert left[0] == (
        "GitHub has no account 's-1-2-typo', the login on the roster: sign in with GitHub to "
        "correct it."
    )
    assert await page.get_by_role("link", name="Accept the GitHub invitation").count() == 0
    await page.screenshot(path=str(artifacts / "join-page-unknown-login.png"), full_page=True)


async def test_links_that_cannot_be_used_get_a_clear_page_and_change_nothing(
    product: Product,
    control: Control,
    mailbox: Mailbox,
    people: dict[str, str],
    site: str,
    browser: Browser,
    artifacts: Path,
) -> None:
    """Altered, expired, superseded, another course's and a removed person's links each get
    a page saying why, with the status that fits, and nothing is written."""
    course_id = await provisioned_with_trouble(product, control, people)
    token = token_of(mailbox, "s-2-1@example.edu")
    links = JoinLinks(SECRET)
    now = SystemClock().now()
    body, signature = token.split(".")
    cases = {
        "altered": (
            f"{body[:-2]}{'AA' if body[-2:] != 'AA' else 'BB'}.{signature}",
            400,
            "This join link was changed after it was sent.",
        ),
        "expired": (
            links.sign(course_id, "s-2-1@example.edu", now - timedelta(days=1)),
            410,
            "This join link expired on",
        ),
        "superseded": (
            links.sign(course_id, "s-2-1@example.edu", now + timedelta(days=1), edition=0),
            410,
            "A newer join link was sent to you",
        ),
        "other course": (
            links.sign(str(uuid.uuid4()), "s-2-1@example.edu", now + timedelta(days=1)),
            404,
            "belongs to a course that does not exist here",
        ),
        "not on the roster": (
            links.sign(course_id, "someone-else@example.edu", now + timedelta(days=1)),
            404,
            "no longer on the course's roster",
        ),
        "garbage": ("not-a-link", 400, "This is not a complete join link."),
    }
    before = await snapshot(product)
    page = await browser.new_page()
    for name, (bad, status, words) in cases.items():
        response = await page.goto(f"{site}/join/{bad}")
        assert response is not None
        assert response.status == status, name
        assert await page.locator("h1").inner_text() == "This join link cannot be used"
        assert words in await page.locator(".problem").inner_text(), name
        assert "Nothing was changed" in await page.locator("main").inner_text()
        if name == "expired":
            await page.screenshot(path=str(artifacts / "join-link-expired.png"), full_page=True)
    assert await snapshot(product) == before
    assert PUBLIC_URL.startswith("https://")
