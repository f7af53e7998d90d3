"""Fixtures for the Discord side: the sandbox on 127.0.0.1, discord.py pointed at it, the REST
gateway with an in-test audit sink, and a server a person created and added the bot to."""

from __future__ import annotations

import asyncio
import warnings
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import pytest

# discord.py 2.7.1 imports the stdlib `audioop` (voice), deprecated in 3.11; warnings are errors
# here, and that one is not ours to fix. Imported once, before any test module needs it.
with warnings.catch_warnings():
    warnings.filterwarnings("ignore", "'audioop' is deprecated", DeprecationWarning)
    import discord

from clients.discord.audit import make_audit_trace
from clients.discord.gateway import DiscordRestGateway
from provisioning.audit_context import AuditContext, HttpExchange
from provisioning.governor import GovernorLimits, RateGovernor
from provisioning.permissions import BOT_INSTALL
from sandbox.core.emulator import SystemClock as SandboxClock
from sandbox.discord import DiscordConfig, DiscordSandbox
from sandbox.server import SandboxServer
from tests.fakes.clocks import FastForwardClock

TOKEN = "sandbox-discord-token"


@dataclass
class ListSink:
    """An `HttpAuditSink` that keeps what it is given, and lets a test wait for a row."""

    rows: list[tuple[HttpExchange, AuditContext]] = field(default_factory=list)
    changed: asyncio.Event = field(default_factory=asyncio.Event)

    async def record_http(self, exchange: HttpExchange, context: AuditContext) -> None:
        self.rows.append((exchange, context))
        self.changed.set()

    async def wait_for(
        self, predicate: Callable[[HttpExchange], bool], after: int = 0
    ) -> tuple[HttpExchange, AuditContext]:
        """The first row from index `after` matching `predicate`, waiting (at most 5 s)."""
        async with asyncio.timeout(5):
            while True:
                for row in self.rows[after:]:
                    if predicate(row[0]):
                        return row
                self.changed.clear()
                await self.changed.wait()


@dataclass
class Control:
    """Acting on the sandbox as a person: `/_sandbox/discord/…`."""

    server: SandboxServer
    http: aiohttp.ClientSession

    async def __call__(self, method: str, path: str, **kwargs: Any) -> Any:
        url = f"{self.server.base_url}/_sandbox/discord{path}"
        async with self.http.request(method, url, **kwargs) as response:
            body = await response.json()
            assert response.status < 300, (response.status, body)
            return body

    async def faults(self, rule: dict[str, Any]) -> None:
        url = f"{self.server.base_url}/_sandbox/faults"
        async with self.http.post(url, json=rule) as response:
            assert response.status == 201, await response.text()


@dataclass(frozen=True)
class World:
    guild_id: str
    users: dict[str, str]


@pytest.fixture
def discord_config() -> DiscordConfig:
    """The emulator's world and rates; a test module overrides it to change them."""
    return DiscordConfig()


@pytest.fixture
async def server(discord_config: DiscordConfig) -> AsyncIterator[SandboxServer]:
    # rate_scale: the sandbox's windows run 100x faster, so no bucket makes discord.py wait.
    clock = SandboxClock()
    emulator = DiscordSandbox(clock, rate_scale=100, config=discord_config)
    async with SandboxServer([emulator], clock=clock) as running:
        yield running


@pytest.fixture
def discord_sandbox_url(server: SandboxServer) -> str:
    """Where `discord_at_sandbox` points discord.py."""
    return server.base_url


@pytest.fixture
async def control(server: SandboxServer) -> AsyncIterator[Control]:
    async with aiohttp.ClientSession(headers=server.control_headers) as http:
        yield Control(server, http)


@pytest.fixture
def sink() -> ListSink:
    return ListSink()


def make_client(sink: ListSink, **options: Any) -> discord.Client:
    return discord.Client(
        intents=discord.Intents.none(),
        http_trace=make_audit_trace(sink),
        max_ratelimit_timeout=30.0,
        **options,
    )


@pytest.fixture
async def client(discord_at_sandbox: None, sink: ListSink) -> AsyncIterator[discord.Client]:
    """A REST-only discord.py client, logged in (no gateway connection)."""
    bot = make_client(sink)
    await bot.login(TOKEN)
    try:
        yield bot
    finally:
        await bot.close()


@pytest.fixture
def gateway(client: discord.Client) -> DiscordRestGateway:
    governor = RateGovernor("discord", GovernorLimits.discord(scale=1e6), FastForwardClock())
    return DiscordRestGateway(client, governor)


async def make_world(control: Control, permissions: int = BOT_INSTALL) -> World:
    """Ada creates a server and adds the bot with the install link's permissions."""
    users = {u["username"]: u["id"] for u in await control("GET", "/users")}
    guild = await control("POST", "/guilds", json={"name": "New server", "owner": "ada"})
    await control("POST", f"/guilds/{guild['id']}/bot", json={"permissions": permissions})
    return World(guild["id"], users)


@pytest.fixture
async def world(control: Control) -> World:
    return await make_world(control)
