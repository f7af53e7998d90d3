"""What a person does in the browser, and what every page must pass: signing in, the
accessibility check, screenshots at desktop and phone widths."""

from __future__ import annotations

from pathlib import Path

from axe_playwright_python.async_playwright import Axe
from playwright.async_api import Browser, BrowserContext, Page

DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}
SERIOUS = ("serious", "critical")


async def new_context(browser: Browser, *, dark: bool = False) -> BrowserContext:
    return await browser.new_context(
        viewport=DESKTOP,  # type: ignore[arg-type]
        color_scheme="dark" if dark else "light",
        timezone_id="America/New_York",
    )


async def sign_in_with_token(page: Page, base: str, token: str) -> None:
    """Fill in the sign-in form as a person would."""
    await page.goto(f"{base}/app/sign-in")
    await page.get_by_label("API token").fill(token)
    await page.get_by_role("button", name="Sign in with the token").click()
    await page.wait_for_url(f"{base}/app/courses")


async def accessible(page: Page) -> None:
    """axe-core finds no serious or critical violation on the page as it is now."""
    results = await Axe().run(page)
    bad = [v for v in results.response["violations"] if v.get("impact") in SERIOUS]
    assert not bad, f"{page.url}: " + "; ".join(
        f"{v['id']} ({v['impact']}): {v['help']} at {[n['target'] for n in v['nodes']][:3]}"
        for v in bad
    )


async def shoot(page: Page, artifacts: Path, name: str) -> None:
    """Screenshots at desktop and phone widths, and the page must not scroll sideways on a
    phone; the viewport goes back to desktop after."""
    await page.set_viewport_size(DESKTOP)  # type: ignore[arg-type]
    await page.screenshot(path=str(artifacts / f"page-{name}-desktop.png"), full_page=True)
    await page.set_viewport_size(PHONE)  # type: ignore[arg-type]
    await page.screenshot(path=str(artifacts / f"page-{name}-phone.png"), full_page=True)
    overflow = await page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    await accessible(page)
    await page.set_viewport_size(DESKTOP)  # type: ignore[arg-type]
    assert overflow <= 0, f"{name}: {overflow} px wider than a phone"
    await accessible(page)
