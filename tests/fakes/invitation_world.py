"""A sandbox whose demo organization allows `limit` GitHub invitations a day, sped up by `scale`
(the product runs at the same factor): the world of the invitation-limit tests."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

from sandbox.core.emulator import SystemClock
from sandbox.discord import DiscordSandbox
from sandbox.github import GitHubSandbox
from sandbox.github.config import GitHubWorld
from sandbox.mail import MailSandbox
from sandbox.server import SandboxServer


@contextlib.asynccontextmanager
async def invitation_limited_sandbox(scale: float, limit: int) -> AsyncIterator[SandboxServer]:
    clock = SystemClock()
    world = GitHubWorld()
    world.limits.org_invitations_per_day_paid = limit
    emulators = [
        GitHubSandbox(clock, rate_scale=scale, world=world),
        DiscordSandbox(clock, rate_scale=scale),
        MailSandbox(clock),
    ]
    async with SandboxServer(emulators, clock=clock, rate_scale=scale) as server:
        yield server
