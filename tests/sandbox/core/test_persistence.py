"""The world on disk: save/load stay in the data directory, one sandbox per state file, a taken
port in one line, saves after changes (debounced, atomic) so a crash keeps the world."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import aiohttp
import pytest

from sandbox.core.clock import ManualClock
from sandbox.core.guard import SECRET_HEADER
from sandbox.core.persistence import Autosaver
from sandbox.github import GitHubSandbox
from sandbox.server import SandboxServer, SandboxStartError

TOKEN = {"Authorization": "token sandbox-github-token"}
CREATE = "/api/v3/orgs/demo-university/repos"
REPO_ROOT = Path(__file__).resolve().parents[3]


def _names(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    """A folder next to the data directory (the fixture's state file is in `tmp_path`)."""
    folder = tmp_path.parent / f"{tmp_path.name}-outside"
    folder.mkdir()
    return folder


@pytest.mark.parametrize("route", ["save", "load"])
async def test_save_and_load_outside_the_data_directory_are_refused(
    http: aiohttp.ClientSession, tmp_path: Path, outside: Path, route: str
) -> None:
    """Absolute, `..`, symlinked-out and non-.json paths get a 400 naming `path`; nothing is
    written."""
    (outside / "world.json").write_text("{}")
    (tmp_path / "link").symlink_to(outside)
    (tmp_path / "link.json").symlink_to(outside / "world.json")
    before = _names(outside)
    for raw in (
        str(outside / "evil.json"),
        f"../{outside.name}/evil.json",
        "sub/../../evil.json",
        "link/evil.json",
        "link.json",
        "app.db",
        "sandbox.secret",
        "",
        7,
    ):
        async with http.post(f"/_sandbox/{route}", json={"path": raw}) as resp:
            assert resp.status == 400, raw
            assert (await resp.json())["message"].startswith("path:"), raw
    assert _names(outside) == before
    assert (outside / "world.json").read_text() == "{}"
    assert not (tmp_path / "app.db").exists()


async def test_a_saved_file_over_a_planted_temporary_name_stays_inside(
    http: aiohttp.ClientSession, tmp_path: Path, outside: Path
) -> None:
    """The temporary file of an atomic save has a random name: a planted symlink is not used."""
    victim = outside / "victim"
    victim.write_text("untouched")
    (tmp_path / "saved.json.tmp").symlink_to(victim)
    async with http.post("/_sandbox/save", json={"path": "saved.json"}) as resp:
        assert resp.status == 200
    assert victim.read_text() == "untouched"
    assert json.loads((tmp_path / "saved.json").read_text())["version"] == 1


async def test_a_second_sandbox_on_the_same_world_refuses_to_start(tmp_path: Path) -> None:
    """While one sandbox runs on a state file, another refuses in one line naming the holder,
    and the file keeps the first one's world."""
    state = tmp_path / "sandbox.json"
    clock = ManualClock()
    async with SandboxServer([GitHubSandbox(clock)], clock=clock, state_path=state) as first:
        session = aiohttp.ClientSession(first.base_url, headers=TOKEN)
        async with session, session.post(CREATE, json={"name": "kept"}) as resp:
            assert resp.status == 201
        saved = state.read_text()
        second = SandboxServer([GitHubSandbox(clock)], clock=clock, state_path=state)
        with pytest.raises(SandboxStartError) as refused:
            await second.start()
        message = str(refused.value)
        assert "\n" not in message
        assert f"process {os.getpid()}" in message
        assert f"port {first.port}" in message
        assert state.read_text() == saved
        await second.stop()  # nothing to stop: it never started
        assert state.read_text() == saved
    # Once the first has stopped, the world is free again.
    async with SandboxServer([GitHubSandbox(clock)], clock=clock, state_path=state):
        pass


@pytest.fixture
def taken_port() -> Iterator[int]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield int(sock.getsockname()[1])


async def test_a_taken_port_is_one_line_and_frees_the_world(
    taken_port: int, tmp_path: Path
) -> None:
    """Starting on a taken port raises one line naming the port; the state file is not locked."""
    state = tmp_path / "sandbox.json"
    server = SandboxServer([], port=taken_port, state_path=state)
    with pytest.raises(SandboxStartError) as refused:
        await server.start()
    message = str(refused.value)
    assert "\n" not in message
    assert f"127.0.0.1:{taken_port}" in message
    assert "free port" in message
    async with SandboxServer([], state_path=state):
        pass  # the failed start released its lock


async def test_a_taken_port_leaves_the_saved_world_as_it_was(
    taken_port: int, tmp_path: Path
) -> None:
    """A sandbox that cannot listen never writes the world it loaded back over the file (the
    other instance's, or one saved earlier), not even when stopped afterwards."""
    state = tmp_path / "sandbox.json"
    clock = ManualClock()
    async with SandboxServer([GitHubSandbox(clock)], clock=clock, state_path=state) as first:
        session = aiohttp.ClientSession(first.base_url, headers=TOKEN)
        async with session, session.post(CREATE, json={"name": "kept"}) as resp:
            assert resp.status == 201
    saved = state.read_bytes()
    late = SandboxServer([GitHubSandbox(clock)], clock=clock, port=taken_port, state_path=state)
    with pytest.raises(SandboxStartError):
        await late.start()
    await late.stop()
    assert state.read_bytes() == saved


def test_python_m_sandbox_on_a_taken_port_prints_one_line(taken_port: int, tmp_path: Path) -> None:
    """`python -m sandbox` on a taken port exits non-zero with one line on stderr."""
    done = subprocess.run(
        [sys.executable, "-m", "sandbox", "--port", str(taken_port), "--data", str(tmp_path)],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode != 0
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert f"127.0.0.1:{taken_port}" in lines[0]


async def test_changes_are_saved_at_once_then_at_most_once_per_interval(tmp_path: Path) -> None:
    """The first change is on disk before its answer; later ones wait for the interval (here
    longer than the test) or the stop."""
    state = tmp_path / "sandbox.json"
    clock = ManualClock()
    server = SandboxServer(
        [GitHubSandbox(clock)], clock=clock, state_path=state, save_interval=3600
    )
    async with server:
        session = aiohttp.ClientSession(server.base_url, headers=TOKEN)
        async with session:
            async with session.post(CREATE, json={"name": "first"}) as resp:
                assert resp.status == 201
            assert '"first"' in state.read_text()
            async with session.post(CREATE, json={"name": "second"}) as resp:
                assert resp.status == 201
            assert '"second"' not in state.read_text()
            async with session.get("/api/v3/repos/demo-university/second") as resp:
                assert resp.status == 200
    assert '"second"' in state.read_text()
    assert [name for name in _names(tmp_path) if name.endswith(".tmp")] == []


async def test_the_autosaver_saves_a_pending_change_when_the_interval_ends() -> None:
    """A change inside the interval is saved once the interval has passed, not before."""
    saved = asyncio.Event()
    count = 0

    def save() -> None:
        nonlocal count
        count += 1
        saved.set()

    autosaver = Autosaver(save, interval=0.05)
    autosaver.changed()
    assert count == 1
    saved.clear()
    autosaver.changed()
    autosaver.changed()
    assert count == 1
    await asyncio.wait_for(saved.wait(), timeout=10)
    assert count == 2


async def _read_line(process: asyncio.subprocess.Process, prefix: str) -> str:
    assert process.stdout is not None
    while True:
        line = (await asyncio.wait_for(process.stdout.readline(), timeout=60)).decode()
        assert line, f"python -m sandbox ended before printing {prefix!r}"
        if line.startswith(prefix):
            return line.strip()


async def test_a_sigkilled_sandbox_keeps_the_changes_made_before_the_kill(tmp_path: Path) -> None:
    """`python -m sandbox` killed with SIGKILL leaves a whole state file with every change it
    answered (saved after each change with --save-interval 0), and the next start loads it."""
    state = tmp_path / "sandbox.json"
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "sandbox",
        "--port",
        "0",
        "--state",
        str(state),
        "--save-interval",
        "0",
        cwd=REPO_ROOT,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
    )
    try:
        control = await _read_line(process, "Control/HTML:")
        base = control.split()[-1].removesuffix("/_sandbox/")
        await _read_line(process, "Control secret")
        secret = (tmp_path / "sandbox.secret").read_text().strip()
        headers = {**TOKEN, SECRET_HEADER: secret}
        async with aiohttp.ClientSession(base, headers=headers) as http:
            org = {"login": "crash-org", "plan": "team", "owners": ["ada"]}
            async with http.post("/_sandbox/github/orgs", json=org) as resp:
                assert resp.status == 201
            async with http.post(CREATE, json={"name": "before-the-kill"}) as resp:
                assert resp.status == 201
    finally:
        process.send_signal(signal.SIGKILL)
        await process.wait()
    assert process.returncode == -signal.SIGKILL
    world = json.loads(state.read_text())
    text = json.dumps(world)
    assert "crash-org" in text
    assert "before-the-kill" in text
    clock = ManualClock()
    async with SandboxServer([GitHubSandbox(clock)], clock=clock, state_path=state) as again:
        session = aiohttp.ClientSession(again.base_url, headers=TOKEN)
        async with session, session.get("/api/v3/repos/demo-university/before-the-kill") as resp:
            assert resp.status == 200


async def test_a_save_that_cannot_be_written_is_a_400_naming_path(
    http: aiohttp.ClientSession, tmp_path: Path
) -> None:
    """Saving over a folder answers 400 naming `path`, not a server error."""
    (tmp_path / "folder.json").mkdir()
    async with http.post("/_sandbox/save", json={"path": "folder.json"}) as resp:
        assert resp.status == 400
        assert (await resp.json())["message"].startswith("path: cannot write folder.json")
