"""One provisioning run per module, on a sandbox whose test middleware captures every request."""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio

# discord.py first, with its one import-time warning silenced (warnings are errors here).
from tests.sandbox.discord.discordpy import discord  # noqa: F401  # isort: skip
from tests.contract.capture import Capture
from tests.contract.scenario import Run, provision


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def course_run(
    sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Run]:
    """The 3-group lab course provisioned (and verified by a second run) on both platforms."""
    database = tmp_path_factory.mktemp("contract") / "app.db"
    shutil.copyfile(sqlite_template, database)
    capture = Capture()
    outcome = await provision(capture, f"sqlite+aiosqlite:///{database}")
    yield Run(outcome, capture)
