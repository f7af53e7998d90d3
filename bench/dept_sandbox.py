"""The department bench's sandbox: its world (four organizations, the App installed on each,
one more without it) in a process of its own (the default) or in the bench's event loop.

Apart, the sandbox's request handling (about 1 ms a call) and its arrival stamps do not share
the bench's process, which also polls the database, so its CPU seconds are its own and are
printed apart; inline (`--sandbox inline`, how the bench ran before) they are the bench's.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import aiohttp
from provision import SandboxProcess, control, journal_of

from sandbox.core.emulator import SystemClock
from sandbox.core.journal import JournalEntry
from sandbox.discord import DiscordSandbox
from sandbox.github import GitHubSandbox
from sandbox.github.config import AppSpec, GitHubWorld, OrgSpec
from sandbox.mail import MailSandbox
from sandbox.server import SandboxServer

# Four organizations, the App installed on each: four credentials, one pace each.
ORGS = ("dept-math", "dept-physics", "dept-chemistry", "dept-biology")
APP_ID = 1
# The polled course's organization: the App is not installed there, so the course waits.
UNREACHABLE_ORG = "dept-history"
OWNER = "demo-admin"


@dataclass
class DepartmentSandbox:
    """Where the sandbox listens, its control secret, and its process id when apart."""

    base_url: str
    control_headers: dict[str, str]
    pid: int | None
    inline: SandboxServer | None = None

    async def journal(self, http: aiohttp.ClientSession) -> list[JournalEntry]:
        if self.inline is not None:
            return list(self.inline.journal.query(limit=10_000_000))
        return await journal_of(http, self.base_url)


def world() -> GitHubWorld:
    return GitHubWorld(
        orgs=[OrgSpec(login=org, owners=[OWNER]) for org in (*ORGS, UNREACHABLE_ORG)],
        apps=[
            AppSpec(
                app_id=APP_ID,
                slug="course-bot",
                installations={101 + n: org for n, org in enumerate(ORGS)},
            )
        ],
    )


async def _furnish(base: str, headers: dict[str, str]) -> None:
    """The same world through the control API: the process starts from the default one."""
    async with aiohttp.ClientSession(headers=headers) as http:
        for org in (*ORGS, UNREACHABLE_ORG):
            body = {"login": org, "owners": [OWNER]}
            await control(http, base, "POST", "/github/orgs", json=body)
        for org in ORGS:
            path = f"/github/apps/{APP_ID}/installations"
            await control(http, base, "POST", path, json={"org": org})


@asynccontextmanager
async def department_sandbox(
    mode: str, scale: float, data: Path
) -> AsyncIterator[DepartmentSandbox]:
    """The sandbox `mode` ("process" or "inline") asks for, until the `async with` ends."""
    if mode == "process":
        async with SandboxProcess(scale, data) as process:
            await _furnish(process.base_url, process.control_headers)
            yield DepartmentSandbox(process.base_url, process.control_headers, process.pid)
        return
    clock = SystemClock()
    emulators = [
        GitHubSandbox(clock, rate_scale=scale, world=world()),
        DiscordSandbox(clock, rate_scale=scale),
        MailSandbox(clock),
    ]
    async with SandboxServer(emulators, clock=clock, rate_scale=scale) as server:
        yield DepartmentSandbox(server.base_url, server.control_headers, None, server)
