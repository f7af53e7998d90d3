"""Web fixtures: the real application on a real 127.0.0.1 server, with tokens."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.conftest import FakeClock
from web.app import create_app
from web.services import Services, build_services

Client = TestClient[web.Request, web.Application]


@pytest.fixture
def services(engine: AsyncEngine, clock: FakeClock) -> Services:
    return build_services(engine, clock=clock)


@pytest.fixture
async def client(services: Services) -> AsyncIterator[Client]:
    async with TestClient(TestServer(create_app(services), host="127.0.0.1")) as client:
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
