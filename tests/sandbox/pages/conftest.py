"""Fixtures for the sandbox's pages in a real browser: the whole sandbox (Discord and GitHub)
on 127.0.0.1, and a stand-in for the product's OAuth callback that shows what it received."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from html import escape

import pytest
from aiohttp import web

from sandbox.core.clock import ManualClock
from sandbox.server import SandboxServer
from tests.browser import artifacts, browser, chromium  # noqa: F401 - fixtures


@pytest.fixture
async def sandbox() -> AsyncIterator[SandboxServer]:
    async with SandboxServer(clock=ManualClock(1_767_225_600.0)) as server:
        yield server


@dataclass
class Callback:
    """What arrived at the callback: each request's query."""

    url: str
    received: list[dict[str, str]] = field(default_factory=list)


@pytest.fixture
async def callback() -> AsyncIterator[Callback]:
    received: list[dict[str, str]] = []

    async def land(request: web.Request) -> web.Response:
        received.append(dict(request.query))
        pairs = "".join(
            f"<dt>{escape(k)}</dt><dd>{escape(v)}</dd>" for k, v in request.query.items()
        )
        rows = f"<dl>{pairs}</dl>"
        return web.Response(
            text=f"<!doctype html><title>Callback</title><h1>Back at the product</h1>{rows}",
            content_type="text/html",
        )

    app = web.Application()
    app.router.add_get("/auth/callback", land)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        yield Callback(f"http://127.0.0.1:{port}/auth/callback", received)
    finally:
        await runner.cleanup()
