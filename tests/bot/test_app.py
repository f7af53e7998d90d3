"""bot.app's start-up and supervision: login errors, and parts that end on their own."""

from __future__ import annotations

import asyncio
import logging
import socket
import warnings
from contextlib import AsyncExitStack
from typing import Any, cast

import pytest

# discord.py 2.7.1 imports the deprecated stdlib `audioop`; warnings are errors here.
with warnings.catch_warnings():
    warnings.filterwarnings("ignore", "'audioop' is deprecated", DeprecationWarning)
    import discord

from bot import app, build
from bot.endpoints import Endpoints
from clients.github.gateway import TokenCredentials
from tests.fakes.discord_urls import discord_pointed_at


class NoAudit:
    async def record_http(self, exchange: Any, context: Any) -> None:
        """Nothing to keep."""


async def test_an_unreachable_discord_is_a_startup_error_and_the_client_is_closed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A refused connection at login: StartupError naming the URL, and the client closed."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    closed: list[discord.Client] = []
    close = discord.Client.close

    async def spy(self: discord.Client) -> None:
        closed.append(self)
        await close(self)

    monkeypatch.setattr(discord.Client, "close", spy)
    endpoints = Endpoints("t", "http://127.0.0.1:1", TokenCredentials("g"))
    with discord_pointed_at(f"http://127.0.0.1:{port}"):
        async with AsyncExitStack() as stack:
            with pytest.raises(
                app.StartupError, match=rf"cannot reach Discord \(.*:{port}/api/v10\)"
            ):
                await build._discord_client(endpoints, cast(Any, NoAudit()), stack)
    assert len(closed) == 1
    assert closed[0].is_closed()


async def test_a_part_that_fails_is_logged_and_stops_the_process(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A runner that raises while `stop` is unset: logged with its traceback, `stop` set, and
    the failure recorded (serve then exits non-zero)."""
    stop = asyncio.Event()
    failed: list[str] = []

    async def crash() -> None:
        raise RuntimeError("database gone")

    task = asyncio.create_task(crash())
    app._watch(task, "runner", stop, failed)
    async with asyncio.timeout(5):
        await stop.wait()
    assert failed == ["runner"]
    (record,) = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert "the runner stopped" in record.getMessage()
    assert record.exc_info is not None
    assert "database gone" in str(record.exc_info[1])


async def test_a_part_that_ends_after_stop_is_not_a_failure() -> None:
    """The runner returning because `stop` was set is the normal shutdown."""
    stop = asyncio.Event()
    failed: list[str] = []

    async def serve() -> None:
        await stop.wait()

    task = asyncio.create_task(serve())
    app._watch(task, "runner", stop, failed)
    stop.set()
    await task
    await asyncio.sleep(0)
    assert failed == []
