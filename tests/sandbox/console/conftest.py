"""Fixtures of the sandbox app's tests: Chromium, and a migrated SQLite database for the bot."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.browser import artifacts, browser, chromium  # noqa: F401 - fixtures


@pytest.fixture
def bot_database_url(sqlite_template: Path, tmp_path: Path) -> str:
    """The bot's database: what is tested here is the sandbox's pages, on one database kind."""
    path = tmp_path / "app.db"
    shutil.copyfile(sqlite_template, path)
    return f"sqlite+aiosqlite:///{path}"
