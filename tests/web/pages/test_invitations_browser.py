"""GitHub's daily organization invitations on the web pages, in Debian's Chromium: the course
page says how many invitations wait for the window and when the last goes, and the new-course
preview says when a course needs more than the organization's day has left.

The sandbox and the product run sped up by the same factor (GitHub's day lasts 100 s), the
demo organization allowing 50 invitations a day, which the product learns from GitHub's first
refusal.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from playwright.async_api import Browser, expect

from db.models import Step
from provisioning.github.invitations import WAIT_CODE
from sandbox.server import SandboxServer
from tests.e2e.harness import ORG, Control, Product, all_steps, lecture, open_product
from tests.fakes.invitation_world import invitation_limited_sandbox
from tests.web.pages.browser_steps import accessible, new_context, shoot, sign_in_with_token

SCALE = 864.0  # GitHub's day: 100 s
NEW_YORK = ZoneInfo("America/New_York")  # the browser's zone (`new_context`)
LIMIT = 50


@pytest.fixture
async def live_sandbox() -> AsyncIterator[SandboxServer]:
    async with invitation_limited_sandbox(SCALE, LIMIT) as server:
        yield server


@pytest.fixture
async def live(database_url: str, live_sandbox: SandboxServer) -> AsyncIterator[Product]:
    async with open_product(database_url, live_sandbox, rate_scale=SCALE) as built:
        yield built


def local(at: datetime) -> str:
    """`at` as the page's script writes the hour in New York ("09:17 AM")."""
    return at.astimezone(NEW_YORK).strftime("%I:%M %p")


def zone(at: datetime) -> str:
    return at.astimezone(NEW_YORK).strftime("%Z")  # EST or EDT


def utc(at: datetime) -> str:
    """The server's text of a time, which the script keeps as the element's title."""
    return at.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def first_waiting(steps: list[Step]) -> Step:
    return next(s for s in steps if s.last_error_code == WAIT_CODE and s.state == "pending")


async def run_until_invitations_wait(live: Product, course_id: str) -> int:
    """Run the runner's rounds until every invitation left waits for the window; how many."""
    async with asyncio.timeout(30):
        while True:
            await live.runner.run_once()
            steps = await all_steps(live.sessions, course_id)
            left = [s for s in steps if s.kind == "github.invite" and s.state != "succeeded"]
            waiting = [s for s in left if s.last_error_code == WAIT_CODE and s.state == "pending"]
            if waiting and len(waiting) == len(left):
                return len(waiting)


async def test_the_pages_say_how_many_invitations_wait_and_when(
    live: Product,
    live_url: str,
    live_control: Control,
    people: dict[str, str],
    browser: Browser,
    artifacts: Path,
) -> None:
    """70 students on an organization allowing 50 a day: the course page shows the 22
    invitations waiting, when the last goes and that nobody has to act, and each waiting
    step when its invitation goes, every time in the browser's zone (not UTC beside local);
    the preview of a 40-student course then says its invitations and the queue take two more
    days."""
    students = [{"name": f"Student {i}", "github": f"stu-{i:03d}"} for i in range(70)]
    await live_control.github_users(s["github"] for s in students)
    course_id = await live.create(lecture(people["ada"], people["grace"], students=students))
    assert await run_until_invitations_wait(live, course_id) == 72 - LIMIT

    token = await live.built.tokens.create("operator")
    context = await new_context(browser)
    page = await context.new_page()
    await sign_in_with_token(page, live_url, token)
    await page.goto(f"{live_url}/app/courses/{course_id}")
    notice = page.get_by_role(
        "status", name=f"GitHub invitations to {ORG} wait for the daily limit"
    )
    await expect(notice).to_contain_text(
        "22 GitHub invitations wait for the organization's daily limit; the last goes about "
    )
    await expect(notice).to_contain_text("Nothing to do: they go on their own.")
    steps = await all_steps(live.sessions, course_id)
    last = max(s.next_attempt_at for s in steps if s.next_attempt_at is not None)
    # Every time on the page in the browser's zone (New York here), the UTC time in its title.
    await expect(notice).to_contain_text(f"{local(last)} {zone(last)}")
    await expect(notice).not_to_contain_text("UTC")
    await expect(notice.locator("time")).to_have_attribute("title", utc(last))
    # Each waiting step says why and when, as a wait (not in red as an error), when it is due,
    # in the same zone as the rest of the page.
    waiting = page.locator('tr[data-step^="github.invite"]', has_text="the next goes at")
    await expect(waiting).to_have_count(72 - LIMIT)
    step = first_waiting(steps)
    assert step.next_attempt_at is not None
    first = page.locator(f'tr[data-step="{step.key}"] p.sub')
    await expect(first).to_have_count(1)
    await expect(first).to_contain_text(
        f"GitHub allows {LIMIT} organization invitations a day to {ORG}; the next goes at "
    )
    await expect(first).to_contain_text(
        f"{local(step.next_attempt_at)} {zone(step.next_attempt_at)}"
    )
    await expect(first.locator("time")).to_have_attribute("title", utc(step.next_attempt_at))
    utc_text = page.locator('tr[data-step^="github.invite"]', has_text="UTC")
    await expect(utc_text).to_have_count(0)
    await expect(page.locator('tr[data-step^="github.invite"] .error-text')).to_have_count(0)
    await accessible(page)
    await shoot(page, artifacts, "course-invitations-waiting")

    await page.goto(f"{live_url}/app/courses/new")
    await page.get_by_label("Course code").fill("CS300")
    await page.get_by_label("Term").fill("2027-spring")
    await page.get_by_label("Title").fill("Big Lecture")
    await page.get_by_label("Kind").select_option("lecture")
    await page.get_by_label("GitHub organization").fill(ORG)
    await page.get_by_label("Staff").fill("instructor,Ada Lovelace,ada")
    rows = "\n".join(f"Student {i},new-{i:03d}" for i in range(40))
    await page.get_by_label("Roster (CSV)").fill(f"name,github\n{rows}")
    await page.get_by_role("button", name="Preview").click()
    await expect(page.locator("#preview-invitations")).to_contain_text(
        f"63 invitations to {ORG}: GitHub allows 50 a day and 50 went in the last one, "
        "the last about 2 days from now."
    )
    await accessible(page)
    await shoot(page, artifacts, "new-course-preview-invitations")
    await context.close()
