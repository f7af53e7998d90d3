"""Page fixtures: a product that really provisions (the system clock, its runner driven by the
test) on its sandbox, served on 127.0.0.1 for a real Chromium."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from aiohttp.test_utils import TestServer

from sandbox.server import SandboxServer
from tests.e2e.harness import SANDBOX_RATE_SCALE, Control, Product, control_of, open_product


@pytest.fixture
async def live_sandbox() -> AsyncIterator[SandboxServer]:
    async with SandboxServer(rate_scale=SANDBOX_RATE_SCALE, fault_seed=20270110) as server:
        yield server


@pytest.fixture
async def live_control(live_sandbox: SandboxServer) -> AsyncIterator[Control]:
    async with control_of(live_sandbox) as ctl:
        yield ctl


@pytest.fixture
async def live(database_url: str, live_sandbox: SandboxServer) -> AsyncIterator[Product]:
    """The product `bot.build` makes; the test runs its runner (`live.run()`)."""
    async with open_product(database_url, live_sandbox) as built:
        yield built


@pytest.fixture
async def live_url(live: Product) -> AsyncIterator[str]:
    """Where the product's web application listens."""
    server = TestServer(live.built.web_app, host="127.0.0.1")
    await server.start_server()
    try:
        yield str(server.make_url("")).rstrip("/")
    finally:
        await server.close()


@pytest.fixture
async def people(live_control: Control) -> dict[str, str]:
    """The sandbox's Discord user ids by name (ada, grace, bob, alan, barbara)."""
    return await live_control.discord_users()
