"""Fixtures: a real sandbox server on 127.0.0.1 with the GitHub emulator and a fake clock."""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any, TypeVar

import aiohttp
import pytest
from github import Auth, Github

from sandbox.core.clock import ManualClock
from sandbox.github import GitHubSandbox
from sandbox.github.config import GitHubWorld
from sandbox.server import SandboxServer
from tests.sandbox.github.recorder import Recorder

T = TypeVar("T")


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def world() -> GitHubWorld:
    return GitHubWorld()


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


@pytest.fixture
def github_sandbox(clock: ManualClock, world: GitHubWorld) -> GitHubSandbox:
    return GitHubSandbox(clock, world=world)


@pytest.fixture
async def server(
    clock: ManualClock, github_sandbox: GitHubSandbox, recorder: Recorder
) -> AsyncIterator[SandboxServer]:
    async with SandboxServer(
        [github_sandbox], clock=clock, middlewares=[recorder.middleware], fault_seed=1
    ) as srv:
        yield srv


TOKEN = "sandbox-github-token"


def app_jwt(app_id: int, exp: float) -> str:
    """An App JWT as the sandbox reads it: claims only (it holds no keys to check a signature)."""

    def part(obj: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(obj).encode()).decode().rstrip("=")

    return f"{part({'alg': 'RS256', 'typ': 'JWT'})}.{part({'iss': app_id, 'exp': exp})}.sig"


def make_client(url: str, token: str = TOKEN, **kwargs: Any) -> Github:
    return Github(
        base_url=url,
        auth=Auth.Token(token),
        seconds_between_requests=None,
        seconds_between_writes=None,
        retry=None,
        api_version="2022-11-28",
        **kwargs,
    )


@pytest.fixture
def gh(server: SandboxServer) -> Iterator[Github]:
    client = make_client(server.github_api_url)
    yield client
    client.close()


@pytest.fixture
def run() -> Callable[..., Any]:
    """Run a blocking PyGithub call on a worker thread while the server runs on this loop."""

    def _run(fn: Callable[..., T], *args: Any, **kwargs: Any) -> asyncio.Future[T]:
        return asyncio.ensure_future(asyncio.to_thread(fn, *args, **kwargs))

    return _run


@pytest.fixture
async def http(server: SandboxServer) -> AsyncIterator[aiohttp.ClientSession]:
    # The control secret too: these tests act on the sandbox as its developer would.
    headers = {"Authorization": "token sandbox-github-token", **server.control_headers}
    async with aiohttp.ClientSession(server.base_url, headers=headers) as session:
        yield session
