"""Fixtures: the sandbox (GitHub and Discord) on 127.0.0.1, the control API, the product."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from sandbox.server import SandboxServer
from tests.e2e.harness import (
    SANDBOX_RATE_SCALE,
    Control,
    Product,
    control_of,
    open_product,
)


@pytest.fixture
async def sandbox() -> AsyncIterator[SandboxServer]:
    async with SandboxServer(rate_scale=SANDBOX_RATE_SCALE, fault_seed=20270110) as server:
        yield server


@pytest.fixture
async def control(sandbox: SandboxServer) -> AsyncIterator[Control]:
    async with control_of(sandbox) as ctl:
        yield ctl


@pytest.fixture
async def people(control: Control) -> dict[str, str]:
    """Discord user ids by name (ada, grace, bob, alan, barbara)."""
    return await control.discord_users()


@pytest.fixture
async def product(database_url: str, sandbox: SandboxServer) -> AsyncIterator[Product]:
    async with open_product(database_url, sandbox) as built:
        yield built
