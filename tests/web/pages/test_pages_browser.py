"""The status page as a person sees it, in Debian's Chromium: sign in, follow a course from
waiting for its server to done without reloading, see a failure and retry it, read the audit
log; every page passes axe-core and is shot at desktop and phone widths."""

from __future__ import annotations

import re
from pathlib import Path

from playwright.async_api import Browser, expect

from provisioning.courses.preview import preview_course
from provisioning.courses.spec import parse_course
from provisioning.retry import RetryPolicy
from tests.e2e.harness import ORG, Control, Product, logins
from tests.web.pages.browser_steps import accessible, new_context, shoot, sign_in_with_token
from tests.web.pages.helpers import lab_course

LIVE_TIMEOUT_MS = 60_000


def lab_data() -> dict[str, object]:
    data = lab_course()
    data["github_org"] = ORG
    return data


async def test_a_course_made_on_the_form_waits_for_its_server_then_reaches_done_live(
    live: Product,
    live_url: str,
    live_control: Control,
    people: dict[str, str],
    browser: Browser,
    artifacts: Path,
) -> None:
    """A laboratory course typed into the form with two mistakes: each is shown next to its
    field, what was typed is kept; corrected (the roster uploaded as a file), the preview says
    what Confirm creates; confirmed, the course page shows the claim code, install link and
    steps while the course waits for its server; after the claim and the runner's work the
    same page (never reloaded) says Done with every step done and links to what was made."""
    spec = parse_course(lab_data())
    await live_control.github_users(logins(spec))
    token = await live.built.tokens.create("operator")
    context = await new_context(browser)
    page = await context.new_page()
    await sign_in_with_token(page, live_url, token)
    await page.get_by_role("link", name="New course").click()
    await page.get_by_label("Course code").fill("CS201")
    await page.get_by_label("Term").fill("fall-2027")
    await page.get_by_label("Title").fill("Systems Lab")
    await page.get_by_label("Kind").select_option("laboratory")
    await page.get_by_label("GitHub organization").fill(ORG)
    await page.get_by_label("Lab groups").fill("lab-01, lab-02")
    await page.get_by_label("Staff").fill("instructor,Ada Lovelace,ada\nta,Grace Hopper,grace")
    await page.get_by_label("Roster (CSV)").fill(
        "name,github,group\nBob,bob-b,lab-01\nCarol,carol-c,lab-09"
    )
    await page.get_by_role("button", name="Preview").click()
    await expect(page.get_by_role("alert")).to_contain_text("The course was not created")
    await expect(page.locator("#term-error")).to_be_visible()
    await expect(page.locator("#roster-error")).to_contain_text("row 3, column group")
    await expect(page.get_by_label("Course code")).to_have_value("CS201")
    await expect(page.get_by_label("Roster (CSV)")).to_have_value(
        "name,github,group\nBob,bob-b,lab-01\nCarol,carol-c,lab-09"
    )
    await expect(page.get_by_label("Term")).to_have_attribute("aria-invalid", "true")
    await shoot(page, artifacts, "new-course-errors")

    await page.get_by_label("Term").fill("2027-fall")
    await page.get_by_label("or upload a CSV file").set_input_files(
        files=[
            {
                "name": "roster.csv",
                "mimeType": "text/csv",
                "buffer": b"name,github,group\nBob,bob-b,lab-01\nCarol,carol-c,lab-02\n",
            }
        ]
    )
    await page.get_by_role("button", name="Preview").click()
    created = page.get_by_role("region", name="Confirm will create")
    await expect(created).to_contain_text("3 repositories")
    preview = preview_course(spec)
    await expect(page.locator("#preview-steps")).to_contain_text(f"{preview.steps} steps")
    await shoot(page, artifacts, "new-course-preview")
    await page.get_by_role("button", name="Confirm and create").click()
    await expect(page.get_by_role("status").first).to_contain_text("Course created")
    course_id = page.url.split("/app/courses/", 1)[1].split("?", 1)[0]
    stored = await live.courses.get(course_id)
    assert stored.spec == spec

    await live.run()  # everything on GitHub; Discord waits for the server
    await page.goto(f"{live_url}/app/courses")
    await expect(page.get_by_role("link", name="CS201")).to_be_visible()
    # Times in the viewer's zone (the browser's is New York), not the server's UTC.
    await expect(page.locator("td time").first).to_contain_text(re.compile(r"E[SD]T"))
    await shoot(page, artifacts, "courses")
    await page.get_by_role("link", name="CS201").click()
    state = page.locator("[data-state]")
    await expect(state).to_have_attribute("data-state", "awaiting_action")
    claim = page.get_by_role("region", name="This course waits for its Discord server")
    await expect(claim).to_be_visible()
    code = (await page.locator("#claim-code").inner_text()).strip()
    assert code == live.built.claim_code(course_id)
    link = await claim.get_by_role("link", name="this install link").get_attribute("href")
    assert link is not None
    assert link.startswith("https://discord.com/oauth2/authorize?client_id=")
    invites = page.get_by_role("region", name="Invite links", exact=True)
    await expect(invites.locator("#invites-problem")).to_contain_text("not claimed yet")
    await shoot(page, artifacts, "course-waiting")
    await page.evaluate("window.notReloaded = true")

    guild = await live_control.server_with_bot(spec)
    await live.claim(course_id, guild, people["ada"])
    # Claimed, before the runner made them: each link is on its way, not gone.
    await expect(invites.locator("tbody tr")).to_have_count(len(spec.groups) + 1)
    await expect(invites.get_by_text("Not made yet")).to_have_count(len(spec.groups) + 1)
    await expect(invites.get_by_text("Gone")).to_have_count(0)
    # What a link grants is read from Discord with the link: nothing to show yet.
    await expect(invites.get_by_text("no role")).to_have_count(0)
    await shoot(page, artifacts, "course-claimed")
    await live.run()
    await expect(state).to_have_attribute("data-state", "succeeded", timeout=LIVE_TIMEOUT_MS)
    assert await page.evaluate("window.notReloaded === true"), "the page was reloaded"
    await expect(page.locator("#progress-text")).to_contain_text("(100%)")
    await expect(claim).to_have_count(0)
    repo = page.locator('[data-step="github.repo:lab-01"] a')
    # In development a repository's page is the sandbox's.
    sandbox = live.built.endpoints.sandbox_url
    repo_page = f"{sandbox}/_sandbox/github/{ORG}/cs201-2027-fall-lab-01"
    assert await repo.get_attribute("href") == repo_page
    channel = page.locator('[data-step="discord.channel:lab-01"] a')
    assert (await channel.get_attribute("href") or "").startswith(
        f"https://discord.com/channels/{guild}/"
    )
    # The invite links came with the claim too, without a reload: the course's and one per
    # lab group, each a link to copy.
    await expect(invites.locator("#invites-problem")).to_have_count(0)
    await expect(invites.locator("tbody tr")).to_have_count(len(spec.groups) + 1)
    await expect(invites.locator("tbody tr code")).to_have_count(len(spec.groups) + 1)
    await shoot(page, artifacts, "course-done")
    await repo.click()
    await expect(page.get_by_role("heading", level=1)).to_contain_text(
        f"{ORG}/cs201-2027-fall-lab-01"
    )
    await expect(page.get_by_role("region", name="Files")).to_contain_text("syllabus.md")
    await page.screenshot(path=str(artifacts / "sandbox-github-repo-desktop.png"), full_page=True)
    await page.go_back()

    await page.get_by_role("link", name="Audit log of this course").click()
    await expect(page.get_by_role("status")).to_contain_text("Hash chain verified")
    await expect(page.locator("table.audit tbody tr").first).to_be_visible()
    await shoot(page, artifacts, "audit")
    await page.get_by_label("Step").select_option("github.repo:lab-01")
    await page.get_by_role("button", name="Filter").click()
    steps = await page.locator('td[data-label="Step"] code').all_inner_texts()
    assert steps
    assert set(steps) == {"github.repo:lab-01"}
    await context.close()


async def test_an_injected_failure_is_explained_and_retried_from_the_page(
    live: Product,
    live_url: str,
    live_control: Control,
    browser: Browser,
    artifacts: Path,
) -> None:
    """GitHub answers 502 to one repository's branch protection until the step gives up: it
    shows Failed with the error and what to do; the Retry button sends it back, and the page
    shows it done, live, once the runner has run."""
    spec = parse_course(lab_data())
    await live_control.github_users(logins(spec))
    await live_control.fault(
        platform="github",
        method="PUT",
        path=f"/repos/{ORG}/cs201-2027-fall-lab-01/branches/*/protection",
        kind="status",
        status=502,
        count=RetryPolicy().max_attempts,
    )
    course_id = await live.create(lab_data())
    await live.run()
    token = await live.built.tokens.create("operator")
    context = await new_context(browser, dark=True)
    page = await context.new_page()
    await sign_in_with_token(page, live_url, token)
    await page.goto(f"{live_url}/app/courses/{course_id}")
    await expect(page.locator("[data-state]")).to_have_attribute("data-state", "failed")
    failed = page.locator("tr", has=page.locator(".step-failed")).first
    await expect(failed).to_contain_text("What to do")
    await shoot(page, artifacts, "course-failed-dark")

    await page.get_by_role("button", name="Retry failed and waiting steps").click()
    await expect(page.get_by_role("status").first).to_contain_text("Retry requested")
    await live.run()
    await expect(page.locator(".step-failed")).to_have_count(0, timeout=LIVE_TIMEOUT_MS)
    await expect(page.locator("[data-state]")).to_have_attribute(
        "data-state", "awaiting_action", timeout=LIVE_TIMEOUT_MS
    )
    await context.close()


async def test_signing_in_reading_only_and_error_pages_in_the_browser(
    live: Product, live_url: str, browser: Browser, artifacts: Path
) -> None:
    """The sign-in page (and its error), a read-only token's course page without Retry or
    claim code, and the 404 page all pass the accessibility check."""
    course_id = await live.create(lab_data())
    reader = await live.built.tokens.create("reader", read_only=True)
    context = await new_context(browser)
    page = await context.new_page()
    await page.goto(f"{live_url}/app/courses/{course_id}")
    await expect(page).to_have_url(f"{live_url}/app/sign-in?next=/app/courses/{course_id}")
    await page.get_by_label("API token").fill("cpb_wrong")
    await page.get_by_role("button", name="Sign in with the token").click()
    await expect(page.locator("#token-error")).to_contain_text("unknown or revoked")
    await shoot(page, artifacts, "sign-in-error")

    await page.get_by_label("API token").fill(reader)
    await page.get_by_role("button", name="Sign in with the token").click()
    await expect(page).to_have_url(f"{live_url}/app/courses/{course_id}")
    await expect(page.get_by_role("button", name="Retry failed and waiting steps")).to_have_count(0)
    await expect(page.locator("#claim-code")).to_have_count(0)
    await accessible(page)

    await page.goto(f"{live_url}/app/courses/00000000-0000-4000-8000-000000000000")
    await expect(page.get_by_role("heading", name="No such course")).to_be_visible()
    await shoot(page, artifacts, "not-found")
    await context.close()
