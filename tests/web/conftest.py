"""Web fixtures: the real application on a real 127.0.0.1 server, with tokens."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.fakes.clocks import ManualClock
from web.app import create_app
from web.services import Services, build_services

Client = TestClient[web.Request, web.Application]


class ChangeCounter:
    """Stands in for the runner's wake(): counts the calls."""

    def __init__(self) -> None:
        self.calls = 0

    def __call__(self) -> None:
        self.calls += 1


@pytest.fixture
def changes() -> ChangeCounter:
    return ChangeCounter()


@pytest.fixture
def services(engine: AsyncEngine, clock: ManualClock, changes: ChangeCounter) -> Services:
    return build_services(engine, clock=clock, on_change=changes)


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
