"""One provisioning run per module, on a sandbox whose test middleware captures every request."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest_asyncio

# discord.py first, with its one import-time warning silenced (warnings are errors here).
from tests.sandbox.discord.discordpy import discord  # noqa: F401  # isort: skip
from tests.contract.capture import Capture
from tests.contract.scenario import Run, provision


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def course_run() -> AsyncIterator[Run]:
    """The 3-group lab course provisioned (and verified by a second run) on both platforms."""
    capture = Capture()
    outcome = await provision(capture)
    yield Run(outcome, capture)
