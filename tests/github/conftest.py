"""Fixtures: the sandbox server on 127.0.0.1 and PyGithub gateways pointed at it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable

import pytest

from clients.github.gateway import PyGithubGateway, TokenCredentials
from provisioning.clock import SystemClock
from provisioning.governor import GovernorLimits, RateGovernor
from sandbox.server import SandboxServer
from tests.github.harness import ListSink

TOKEN = "sandbox-github-token"
GatewayFactory = Callable[..., Awaitable[PyGithubGateway]]


@pytest.fixture
async def sandbox() -> AsyncIterator[SandboxServer]:
    async with SandboxServer() as server:
        yield server


@pytest.fixture
def sink() -> ListSink:
    return ListSink()


@pytest.fixture
async def gateway(sandbox: SandboxServer, sink: ListSink) -> AsyncIterator[PyGithubGateway]:
    # A huge scale: the governor's spacing shrinks to nothing, so the tests never sleep.
    governor = RateGovernor("github", GovernorLimits.github(scale=1e9), SystemClock())
    gw = PyGithubGateway(
        base_url=sandbox.github_api_url,
        credentials=TokenCredentials(TOKEN),
        governor=governor,
        sink=sink,
        timeout_s=5,
    )
    yield gw
    await gw.aclose()
