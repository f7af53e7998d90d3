"""The product's gateways provision a 3-group laboratory course on one sandbox, twice.

GitHub: every GitHub step of the plan through `PyGithubGateway`, then all of them again with the
stored results (the verify path). Discord: a person creates a server and adds the bot through the
control API, then every Discord step through `DiscordRestGateway` (discord.py), then again.
The sandbox runs on 127.0.0.1 with an injected clock; `Capture` records every API request.
"""

from __future__ import annotations

import copy
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import aiohttp
import yarl

from clients.discord.audit import make_audit_trace
from clients.discord.gateway import DiscordRestGateway
from clients.github.gateway import PyGithubGateway, TokenCredentials
from provisioning.courses.spec import CourseSpec, parse_course
from provisioning.discord.steps.server import needed_permissions
from provisioning.governor import GovernorLimits, RateGovernor
from provisioning.step import StepResult
from sandbox.core.clock import ManualClock
from sandbox.discord import BucketRate, DiscordConfig, DiscordSandbox, RateConfig
from sandbox.github import GitHubSandbox
from sandbox.github.config import GitHubWorld, Limits
from sandbox.server import SandboxServer
from tests.contract.capture import Capture
from tests.discord import steps as discord_harness
from tests.github import harness as github_harness
from tests.provisioning.examples import lab_course
from tests.sandbox.discord.discordpy import DiscordWebSocket, Route, discord

GITHUB_TOKEN = "sandbox-github-token"
DISCORD_TOKEN = "sandbox-discord-token"
GROUPS = 3
# Not what is under test here: limits high enough that no 429 interrupts the run (the clock
# does not move, so no window would ever reset).
_ROOMY = BucketRate(100_000, 10.0)


class InstantClock:
    """The governors' clock: waits are counted, never slept."""

    def __init__(self) -> None:
        self.mono = 0.0

    def now(self) -> datetime:
        return datetime.now(UTC)

    def monotonic(self) -> float:
        return self.mono

    async def sleep(self, seconds: float) -> None:
        self.mono += seconds


@dataclass(frozen=True)
class Outcome:
    spec: CourseSpec
    github: dict[str, StepResult]
    discord: dict[str, StepResult]


@dataclass(frozen=True)
class Run:
    """A finished provisioning run and what the sandbox saw of it."""

    outcome: Outcome
    capture: Capture


def lab_spec(discord_users: dict[str, str]) -> CourseSpec:
    """The example 3-group lab course, its staff known on the sandbox's Discord."""
    data: dict[str, Any] = copy.deepcopy(lab_course(GROUPS))
    for member in data["staff"]:
        member["discord_id"] = discord_users[member["github"]]
    return parse_course(data)


def emulators(clock: ManualClock, spec_logins: list[str]) -> list[Any]:
    limits = Limits(content_per_minute=100_000, content_per_hour=100_000)
    world = GitHubWorld(users=[*GitHubWorld().users, *spec_logins], limits=limits)
    rates = RateConfig(
        buckets=dict.fromkeys(RateConfig().buckets, _ROOMY), global_per_second=100_000
    )
    return [
        GitHubSandbox(clock, world=world),
        DiscordSandbox(clock, config=DiscordConfig(rates=rates)),
    ]


async def _control(http: aiohttp.ClientSession, method: str, path: str, **kw: Any) -> Any:
    async with http.request(method, f"/_sandbox/discord{path}", **kw) as response:
        body = await response.json()
        assert response.status < 300, (method, path, response.status, body)
        return body


@asynccontextmanager
async def discord_client(server: SandboxServer) -> AsyncIterator[discord.Client]:
    """A REST-only discord.py client pointed at the sandbox (URLs restored afterwards)."""
    old = Route.BASE, DiscordWebSocket.DEFAULT_GATEWAY
    Route.BASE = server.discord_api_url
    DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(server.gateway_url)
    client = discord.Client(
        intents=discord.Intents.none(),
        http_trace=make_audit_trace(github_harness.ListSink()),
        max_ratelimit_timeout=30.0,
    )
    try:
        await client.login(DISCORD_TOKEN)
        yield client
    finally:
        await client.close()
        Route.BASE, DiscordWebSocket.DEFAULT_GATEWAY = old


async def run_github(server: SandboxServer, spec: CourseSpec) -> dict[str, StepResult]:
    gateway = PyGithubGateway(
        base_url=server.github_api_url,
        credentials=TokenCredentials(GITHUB_TOKEN),
        governor=RateGovernor("github", GovernorLimits.github(scale=1e9), InstantClock()),
        sink=github_harness.ListSink(),
        timeout_s=5,
    )
    try:
        results = await github_harness.run_all(gateway, spec)
        results = await github_harness.run_all(gateway, spec, results)
        # The invite step looks a user up only when GitHub says 404 for the membership (an
        # unknown login); every login here exists, so that request is made here directly.
        assert await gateway.get_user("no-such-login-here") is None
        return results
    finally:
        await gateway.aclose()


async def run_discord(
    server: SandboxServer, spec: CourseSpec, guild_id: str
) -> dict[str, StepResult]:
    async with discord_client(server) as client:
        governor = RateGovernor("discord", GovernorLimits.discord(scale=1e6), InstantClock())
        gateway = DiscordRestGateway(client, governor)
        results = await discord_harness.run_all(spec, gateway, guild_id)
        return await discord_harness.run_all(spec, gateway, guild_id, done=results)


async def provision(capture: Capture) -> Outcome:
    """Run the whole course on a fresh sandbox; `capture` sees every API request."""
    clock = ManualClock()
    logins = [s["github"] for s in lab_course(GROUPS)["students"]]
    async with (
        SandboxServer(
            emulators(clock, logins), clock=clock, middlewares=[capture.middleware]
        ) as server,
        aiohttp.ClientSession(server.base_url) as http,
    ):
        users = {u["username"]: u["id"] for u in await _control(http, "GET", "/users")}
        spec = lab_spec(users)
        github = await run_github(server, spec)
        # A person creates the course's server, adds the bot with the install link's
        # permissions, and the TA joins.
        guild = await _control(http, "POST", "/guilds", json={"name": "CS201", "owner": "ada"})
        bot = {"permissions": needed_permissions(spec)}
        await _control(http, "POST", f"/guilds/{guild['id']}/bot", json=bot)
        await _control(http, "POST", f"/guilds/{guild['id']}/members", json={"user": "grace"})
        discord_results = await run_discord(server, spec, guild["id"])
    return Outcome(spec, github, discord_results)
