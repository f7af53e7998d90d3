"""The embedded sandbox that cannot start (taken SANDBOX_PORT, world in use) is one line."""

from __future__ import annotations

import socket
from contextlib import AsyncExitStack
from pathlib import Path

import pytest

from bot.endpoints import open_endpoints
from bot.errors import StartupError
from bot.settings import Settings
from sandbox.server import SandboxServer


async def test_a_taken_sandbox_port_is_a_one_line_startup_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`make run` with SANDBOX_PORT taken stops with one line naming the port."""
    monkeypatch.chdir(tmp_path)  # the embedded sandbox keeps its world in ./data/
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = int(taken.getsockname()[1])
        async with AsyncExitStack() as stack:
            with pytest.raises(StartupError) as refused:
                await open_endpoints(Settings(sandbox_port=port), stack)
    message = str(refused.value)
    assert "\n" not in message
    assert f"127.0.0.1:{port}" in message


async def test_a_world_in_use_is_a_one_line_startup_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A second `make run` in the same folder refuses to share ./data/sandbox.json."""
    monkeypatch.chdir(tmp_path)
    state = Path("data") / "sandbox.json"
    async with SandboxServer([], state_path=state) as first, AsyncExitStack() as stack:
        with pytest.raises(StartupError) as refused:
            await open_endpoints(Settings(sandbox_port=0), stack)
        message = str(refused.value)
        assert "\n" not in message
        assert f"port {first.port}" in message
