"""Fixtures of the sandbox every end-to-end folder starts from: the emulators on 127.0.0.1,
their control API and the Discord people in it.

A plugin of the root conftest, so every folder has them; a folder that needs another sandbox
(a clock, a state file) defines its own `sandbox` and keeps `control` and `people` from here.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from sandbox.server import SandboxServer
from tests.e2e.harness import SANDBOX_RATE_SCALE, Control, control_of

# Faults drawn at random repeat run after run.
FAULT_SEED = 20270110


@pytest.fixture
async def sandbox() -> AsyncIterator[SandboxServer]:
    async with SandboxServer(rate_scale=SANDBOX_RATE_SCALE, fault_seed=FAULT_SEED) as server:
        yield server


@pytest.fixture
async def control(sandbox: SandboxServer) -> AsyncIterator[Control]:
    async with control_of(sandbox) as ctl:
        yield ctl


@pytest.fixture
async def people(control: Control) -> dict[str, str]:
    """Discord user ids by name (ada, grace, bob, alan, barbara)."""
    return await control.discord_users()
