"""The sandbox in a process of its own (`python -m sandbox`), for tests that read arrival times
from its request log: in a process of its own, the test's event loop (polling, the product
creating and claiming) cannot delay the stamping of an arrival."""

from __future__ import annotations

import asyncio
import contextlib
import re
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp

from sandbox.core.guard import SECRET_HEADER
from tests.e2e.harness import REPO_ROOT, Control

_CONTROL = re.compile(r"Control/HTML: (http://[^/\s]+)/_sandbox/")


@dataclass
class SandboxProcess:
    base_url: str
    secret: str
    control: Control

    async def requests(self, *, since: int = 0, platform: str | None = None) -> list[Any]:
        """The request log after cursor `since`, oldest first (every page of it)."""
        entries: list[Any] = []
        while True:
            query: dict[str, str] = {"since": str(since), "limit": "10000"}
            if platform is not None:
                query["platform"] = platform
            page = await self.control.call("GET", "/requests", params=query)
            entries.extend(page["requests"])
            if not page["requests"]:
                return entries
            since = page["cursor"]

    async def cursor(self) -> int:
        """The newest entry's sequence number: pass it as `since` to see only later ones."""
        entries = await self.requests()
        return int(entries[-1]["seq"]) if entries else 0


@contextlib.asynccontextmanager
async def sandbox_process(rate_scale: float, data: Path) -> AsyncIterator[SandboxProcess]:
    """`python -m sandbox` on a free port with its limits `rate_scale` times faster."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "sandbox",
        "--port",
        "0",
        "--rate-scale",
        str(rate_scale),
        "--data",
        str(data),
        cwd=REPO_ROOT,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
    )
    assert process.stdout is not None
    try:
        base_url = secret = None
        while secret is None:
            line = (await asyncio.wait_for(process.stdout.readline(), 60)).decode()
            assert line, "python -m sandbox exited before it served"
            if found := _CONTROL.search(line):
                base_url = found.group(1)
            elif line.startswith("Control secret"):
                secret = (await process.stdout.readline()).decode().strip()
        assert base_url is not None
        async with aiohttp.ClientSession(headers={SECRET_HEADER: secret}) as http:
            yield SandboxProcess(base_url, secret, Control(base_url, http))
    finally:
        if process.returncode is None:
            process.terminate()
            await process.wait()
