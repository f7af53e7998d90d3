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
    await page.screenshot(path=str(artifacts / "docs.png"), full_page=True)
    shown = set()
    for block in await page.query_selector_all(".opblock-summary"):
        method = await (await block.query_selector(".opblock-summary-method")).inner_text()  # type: ignore[union-attr]
        path = await block.query_selector(".opblock-summary-path")
        assert path is not None
        shown.add((method.strip().upper(), (await path.get_attribute("data-path")) or ""))
    body = await page.inner_text("body")
    await page.close()

    assert "Unable to render this definition" not in body
    assert shown == expected
    assert requested
    assert all(url.startswith(base) for url in requested), requested
