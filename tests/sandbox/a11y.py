"""Accessibility of the sandbox's pages: axe-core (bundled with axe-playwright-python) finds no
serious or critical violation."""

from __future__ import annotations

from axe_playwright_python.async_playwright import Axe
from playwright.async_api import Page


async def serious_violations(page: Page) -> list[str]:
    results = await Axe().run(page)
    return [
        f"{v['id']}: {v['help']}"
        for v in results.response["violations"]
        if v.get("impact") in ("serious", "critical")
    ]
