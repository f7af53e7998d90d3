"""A real Chromium (Debian's, driven by Playwright) for pages people look at: fixtures the
folders that serve pages import into their conftest.

The browser never downloads anything: Playwright drives the system's /usr/bin/chromium (see
`scripts/test`, which installs it in CI). Locally, without it, these tests are skipped with
the reason; under CI=true a missing browser fails them.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from playwright.async_api import Browser, async_playwright

CHROMIUM = Path("/usr/bin/chromium")
# Without the background-networking flags Chromium calls out to Google's hosts at start-up.
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
# Screenshots of what a person would see, kept after the run for people to look at.
ARTIFACTS = Path(__file__).resolve().parent / "test-artifacts"


@pytest.fixture
def chromium() -> Path:
    """The system's Chromium; its absence fails the test in CI and skips it elsewhere."""
    if not CHROMIUM.exists():
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"{CHROMIUM} is missing: scripts/test installs Debian's chromium in CI")
        pytest.skip(f"{CHROMIUM} is missing: apt-get install -y chromium")
    return CHROMIUM


@pytest.fixture
async def browser(chromium: Path) -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=str(chromium), args=FLAGS)
        try:
            yield browser
        finally:
            await browser.close()


@pytest.fixture
def artifacts() -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS
