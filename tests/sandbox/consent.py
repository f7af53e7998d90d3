"""Going through a sandbox authorize page with a plain HTTP client, as a browser's forms would."""

from __future__ import annotations

import html
import re

import aiohttp

from sandbox.core.guard import CSRF_FIELD

_CSRF = re.compile(rf'name="{CSRF_FIELD}" value="([^"]+)"')


def browser_session() -> aiohttp.ClientSession:
    # `unsafe=True`: keep cookies of 127.0.0.1 (aiohttp drops cookies of IP hosts by default).
    return aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))


def csrf_of(page: str) -> str:
    found = _CSRF.search(page)
    assert found is not None, page
    return html.unescape(found.group(1))


async def open_page(http: aiohttp.ClientSession, url: str) -> tuple[int, str]:
    async with http.get(url) as response:
        return response.status, await response.text()


async def decide(
    http: aiohttp.ClientSession,
    url: str,
    user: str,
    decision: str = "authorize",
    extra: dict[str, str] | None = None,
) -> tuple[int, str, str]:
    """Pick `user`, then press Authorize or Cancel: (status, Location header, page text)."""
    status, page = await open_page(http, url)
    assert status == 200, page
    form = {CSRF_FIELD: csrf_of(page), "user": user, "step": "identity"}
    async with http.post(url, data=form, allow_redirects=False) as response:
        assert response.status == 303, await response.text()
    status, page = await open_page(http, url)
    assert status == 200, page
    form = {CSRF_FIELD: csrf_of(page), "user": user, "decision": decision, **(extra or {})}
    async with http.post(url, data=form, allow_redirects=False) as response:
        return response.status, response.headers.get("Location", ""), await response.text()
