"""Fixtures: the sandbox server with GitHub and a minimal stand-in for a second platform."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from sandbox.core.clock import ManualClock
from sandbox.github import GitHubSandbox
from sandbox.server import SandboxServer


class PingPlatform:
    """A tiny `PlatformEmulator` on `/api/v10`, so core tests don't depend on Discord's."""

    name = "discord"

    def __init__(self) -> None:
        self.pings = 0

    def add_routes(self, app: web.Application) -> None:
        async def ping(request: web.Request) -> web.Response:
            self.pings += 1
            return web.json_response({"pings": self.pings})

        app.router.add_post("/api/v10/ping", ping)

    def snapshot(self) -> dict[str, Any]:
        return {"pings": self.pings}

    def restore(self, data: dict[str, Any]) -> None:
        self.pings = int(data["pings"])

    def reset(self) -> None:
        self.pings = 0


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def state_file(tmp_path: Path) -> Path:
    return tmp_path / "state.json"


@pytest.fixture
async def server(clock: ManualClock, state_file: Path) -> AsyncIterator[SandboxServer]:
    emulators = [GitHubSandbox(clock), PingPlatform()]
    async with SandboxServer(emulators, clock=clock, state_path=state_file, fault_seed=7) as srv:
        yield srv


@pytest.fixture
async def http(server: SandboxServer) -> AsyncIterator[aiohttp.ClientSession]:
    # The control secret too: these tests act on the sandbox as its developer would.
    headers = {"Authorization": "token sandbox-github-token", **server.control_headers}
    async with aiohttp.ClientSession(server.base_url, headers=headers) as session:
        yield session
