"""/docs as a person sees it: Swagger UI renders the OpenAPI 3.1 document with every operation,
from files we serve, and the page asks nothing of any other host."""

from __future__ import annotations

from pathlib import Path

from playwright.async_api import Browser, Request

from tests.web.conftest import Client


async def test_docs_page_renders_every_operation_in_a_browser(
    client: Client, browser: Browser, artifacts: Path
) -> None:
    """Chromium shows every operation of /openapi.json (method and path), no render error, and
    every request the page makes goes to our own server (no CDN, no outside validator)."""
    document = await (await client.get("/openapi.json")).json()
    expected = {
        (method.upper(), path)
        for path, operations in document["paths"].items()
        for method in operations
    }
    base = str(client.make_url("/")).rstrip("/")
    page = await browser.new_page()
    requested: list[str] = []

    def seen(request: Request) -> None:
        requested.append(request.url)

    page.on("request", seen)
    await page.goto(f"{base}/docs")
    await page.wait_for_selector(".opblock-summary", timeout=30_000)
    await page.screenshot(path=str(artifacts / "docs-desktop.png"), full_page=True)
    shown = set()
    for block in await page.query_selector_all(".opblock-summary"):
        method = await (await block.query_selector(".opblock-summary-method")).inner_text()  # type: ignore[union-attr]
        path = await block.query_selector(".opblock-summary-path")
        assert path is not None
        shown.add((method.strip().upper(), (await path.get_attribute("data-path")) or ""))
    body = await page.inner_text("body")
    # On a phone the list of operations fits the screen (an opened operation's parameter
    # table is Swagger UI's own layout and may scroll sideways by a few pixels).
    await page.set_viewport_size({"width": 390, "height": 844})
    await page.screenshot(path=str(artifacts / "docs-phone.png"))
    overflow = await page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    # An operation opens to its parameters, as a reader trying the API would see them.
    await page.click("#operations-default-getCourseStatus .opblock-summary")
    parameters = await page.wait_for_selector(
        "#operations-default-getCourseStatus .parameters", timeout=10_000
    )
    assert parameters is not None
    listed = await parameters.inner_text()
    await page.screenshot(path=str(artifacts / "docs-status-operation-phone.png"), full_page=True)
    await page.close()

    assert "Unable to render this definition" not in body
    assert shown == expected
    assert requested
    assert all(url.startswith(base) for url in requested), requested
    assert all(name in listed for name in ("course_id", "after", "limit", "state")), listed
    assert overflow <= 0, f"the page is {overflow} px wider than a 390 px phone screen"
