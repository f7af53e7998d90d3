"""The mailbox page in Chromium: each message as a person reads it, newest first, the HTML part
in a sandboxed frame whose links open, the text part with clickable links, nothing executed."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp import web
from playwright.async_api import Browser, expect

from sandbox.server import SandboxServer

from .conftest import message, send


@pytest.fixture
async def join_page() -> AsyncIterator[str]:
    """A stand-in for the product's join page: where the mailed links lead."""

    async def join(request: web.Request) -> web.Response:
        token = request.match_info["token"]
        return web.Response(
            text=f"<!doctype html><title>Join</title><h1>Join page {token}</h1>",
            content_type="text/html",
        )

    app = web.Application()
    app.router.add_get("/join/{token}", join)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    try:
        yield f"http://127.0.0.1:{runner.addresses[0][1]}"
    finally:
        await runner.cleanup()


async def test_mailbox_shows_messages_as_people_read_them(
    browser: Browser, artifacts: Path, sandbox: SandboxServer, join_page: str
) -> None:
    html = (
        "<h1 style='color:#5865f2'>Welcome to CS 101</h1>"
        f"<p>Hello Ada, <a href='{join_page}/join/html-link'>join the course</a>.</p>"
        "<script>document.title = 'pwned'; parent.document.body.innerHTML = 'pwned'</script>"
    )
    await send(
        sandbox,
        message(
            to="ada@example.edu",
            subject="Join CS 101 <now>",
            text=f"Hello Ada,\njoin the course: {join_page}/join/html-link\n",
            html=html,
        ),
    )
    await send(
        sandbox,
        message(
            to="bob@example.edu",
            subject="Your lab group",
            text=f"Hello Bob,\nyour link: {join_page}/join/text-link\nSee you.\n",
        ),
    )
    page = await browser.new_page(viewport={"width": 1280, "height": 1000})
    await page.goto(f"{sandbox.base_url}/_sandbox/mail/")
    await expect(page.get_by_role("heading", level=1)).to_have_text("Mailbox")
    subjects = page.locator("article h2")
    await expect(subjects).to_have_text(["Your lab group", "Join CS 101 <now>"])
    first = page.locator("article").nth(1)
    await expect(first.get_by_text("Course Bot <course-bot@example.edu>")).to_be_visible()
    await expect(first.get_by_text("ada@example.edu", exact=True)).to_be_visible()
    frame = page.frame_locator("iframe[title='Message: Join CS 101 <now>']")
    await expect(frame.get_by_role("heading", name="Welcome to CS 101")).to_be_visible()
    await page.screenshot(path=str(artifacts / "sandbox-mailbox.png"), full_page=True)
    phone = await browser.new_page(viewport={"width": 390, "height": 1400})
    await phone.goto(f"{sandbox.base_url}/_sandbox/mail/")
    phone_frame = phone.frame_locator("iframe[title='Message: Join CS 101 <now>']")
    await expect(phone_frame.get_by_role("heading", name="Welcome to CS 101")).to_be_visible()
    await phone.screenshot(path=str(artifacts / "sandbox-mailbox-phone.png"))
    # The message's script never ran: neither the frame nor the page changed.
    assert await page.title() == "Mailbox (2) · Sandbox"
    await expect(subjects).to_have_count(2)

    # The text part's link is a link.
    await page.get_by_role("link", name=f"{join_page}/join/text-link").click()
    await expect(page.get_by_role("heading", level=1)).to_have_text("Join page text-link")

    # The HTML part's link opens the page in the whole tab.
    await page.goto(f"{sandbox.base_url}/_sandbox/mail/")
    frame = page.frame_locator("iframe[title='Message: Join CS 101 <now>']")
    await frame.get_by_role("link", name="join the course").click()
    await expect(page.get_by_role("heading", level=1)).to_have_text("Join page html-link")
    assert page.url == f"{join_page}/join/html-link"


async def test_empty_mailbox(browser: Browser, sandbox: SandboxServer) -> None:
    page = await browser.new_page()
    await page.goto(f"{sandbox.base_url}/_sandbox/mail/")
    await expect(page.get_by_text("No mail yet.")).to_be_visible()
    await expect(page.get_by_text(f"127.0.0.1:{sandbox.smtp_port}")).to_be_visible()
