"""Web fixtures: the real application on a real 127.0.0.1 server, with tokens."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from bot.settings import Settings
from sandbox.server import SandboxServer
from tests.browser import artifacts, browser, chromium  # noqa: F401 - fixtures
from tests.e2e.discordpy import Built, build
from tests.fakes.clocks import ManualClock
from web.services import Services

Client = TestClient[web.Request, web.Application]
SECRET = "web-tests-secret-" + "w" * 32


@pytest.fixture
async def sandbox() -> AsyncIterator[SandboxServer]:
    """The product's Discord and GitHub; the web tests start no runner, so it sees little."""
    async with SandboxServer(rate_scale=1000.0) as server:
        yield server


@pytest.fixture
async def product(
    database_url: str, sandbox: SandboxServer, clock: ManualClock
) -> AsyncIterator[Built]:
    """The product as `python -m bot` builds it, on the test's database and clock."""
    settings = Settings(
        database_url=database_url,
        sandbox_url=sandbox.base_url,
        rate_scale=1e9,
        secret_key=SECRET,
    )
    async with AsyncExitStack() as stack:
        yield await build(settings, stack, clock=clock)


class ChangeCounter:
    """How often the services woke the product's runner since the fixture was made."""

    def __init__(self, product: Built) -> None:
        self._runner = product.runner
        self._start = product.runner.wakes

    @property
    def calls(self) -> int:
        return self._runner.wakes - self._start


@pytest.fixture
def changes(product: Built) -> ChangeCounter:
    return ChangeCounter(product)


@pytest.fixture
def services(product: Built) -> Services:
    return product.services


@pytest.fixture
async def client(product: Built) -> AsyncIterator[Client]:
    """The product's own web application on a 127.0.0.1 server."""
    async with TestClient(TestServer(product.web_app, host="127.0.0.1")) as client:
        yield client


@pytest.fixture
async def token(services: Services) -> str:
    return await services.tokens.create("writer")


@pytest.fixture
async def ro_token(services: Services) -> str:
    return await services.tokens.create("reader", read_only=True)


@pytest.fixture
def auth(token: str) -> dict[str, str]:
    """Headers of a read-write client."""
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def ro_auth(ro_token: str) -> dict[str, str]:
    """Headers of a read-only client."""
    return {"Authorization": f"Bearer {ro_token}"}


async def create_course(client: Client, auth: dict[str, str], data: dict[str, Any]) -> str:
    """POST a course that must be created; its id."""
    response = await client.post("/courses", json=data, headers=auth)
    assert response.status == 201, await response.text()
    course_id: str = (await response.json())["id"]
    return course_id
