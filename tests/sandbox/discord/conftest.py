"""Fixtures: a DiscordSandbox on a real 127.0.0.1 server, a fake clock, a person-made guild."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from multidict import CIMultiDictProxy

from sandbox.core.clock import ManualClock
from sandbox.discord import DiscordConfig, DiscordSandbox

from .discordpy import app_commands, discord

TOKEN = "sandbox-discord-token"
# CREATE_INSTANT_INVITE, MANAGE_CHANNELS, MANAGE_GUILD, VIEW_AUDIT_LOG, VIEW_CHANNEL, SEND_MESSAGES,
# EMBED_LINKS, READ_MESSAGE_HISTORY, MANAGE_ROLES: the install link's set (PLATFORM.md §1.2).
BOT_PERMISSIONS = 268520625
# The sandbox's clock starts here in these tests (2026-01-01T00:00:00Z).
START = 1_767_225_600.0


@dataclass
class Running:
    """A running sandbox server and a client session to talk to it."""

    sandbox: DiscordSandbox
    clock: Any
    base: str
    http: aiohttp.ClientSession
    requests: Recorded = field(default_factory=list)

    async def api(
        self,
        method: str,
        path: str,
        *,
        token: str | None = TOKEN,
        headers: dict[str, str] | None = None,
        **kwargs: Any,
    ) -> tuple[int, Any, CIMultiDictProxy[str]]:
        hdrs = dict(headers or {})
        if token is not None:
            hdrs["Authorization"] = f"Bot {token}"
        async with self.http.request(
            method, f"{self.base}/api/v10{path}", headers=hdrs, **kwargs
        ) as r:
            body = await r.json() if r.content_type == "application/json" else await r.text()
            return r.status, body, r.headers

    async def control(self, method: str, path: str, **kwargs: Any) -> tuple[int, Any]:
        async with self.http.request(method, f"{self.base}/_sandbox/discord{path}", **kwargs) as r:
            return r.status, await r.json()


Recorded = list[tuple[str, str, Any]]
NextHandler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def recorder(calls: Recorded) -> Any:
    """A middleware noting (method, route template, JSON body) of every API request."""

    @web.middleware
    async def record(request: web.Request, handler: NextHandler) -> web.StreamResponse:
        resource = request.match_info.route.resource
        if resource is not None and request.path.startswith("/api/v10"):
            # Only JSON is read here: a multipart stream read twice would break the handler.
            is_json = request.content_type == "application/json" and request.can_read_body
            raw = await request.read() if is_json else b""
            if raw:
                template = resource.canonical.removeprefix("/api/v10")
                calls.append((request.method, template, json.loads(raw)))
        return await handler(request)

    return record


async def start(
    sandbox: DiscordSandbox, clock: Any, calls: Recorded | None = None
) -> tuple[web.AppRunner, str]:
    app = web.Application(middlewares=[recorder(calls if calls is not None else [])])
    sandbox.add_routes(app)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    return runner, f"http://127.0.0.1:{port}"


@contextlib.asynccontextmanager
async def serve(
    config: DiscordConfig | None = None, rate_scale: float = 1.0, clock: Any = None
) -> AsyncIterator[Running]:
    """A sandbox with its own config on its own server (for limits and rates)."""
    clock = clock or ManualClock(START)
    sandbox = DiscordSandbox(clock, rate_scale=rate_scale, config=config)
    runner, base = await start(sandbox, clock)
    try:
        async with aiohttp.ClientSession() as http:
            yield Running(sandbox, clock, base, http)
    finally:
        await runner.cleanup()


@pytest.fixture
def fake_clock() -> ManualClock:
    return ManualClock(START)


@pytest.fixture
def config() -> DiscordConfig:
    return DiscordConfig()


@pytest.fixture
async def running(fake_clock: ManualClock, config: DiscordConfig) -> AsyncIterator[Running]:
    sandbox = DiscordSandbox(fake_clock, config=config)
    calls: Recorded = []
    runner, base = await start(sandbox, fake_clock, calls)
    async with aiohttp.ClientSession() as http:
        yield Running(sandbox, fake_clock, base, http, calls)
    await runner.cleanup()


@dataclass
class World:
    guild_id: str
    everyone_id: str
    bot_role_id: str
    general_id: str
    owner_id: str
    users: dict[str, str] = field(default_factory=dict)


async def make_world(running: Running, permissions: int = BOT_PERMISSIONS) -> World:
    """Ada creates a server and adds the bot, as the install link does."""
    status, users = await running.control("GET", "/users")
    assert status == 200
    ids = {u["username"]: u["id"] for u in users}
    status, guild = await running.control("POST", "/guilds", json={"name": "CS101", "owner": "ada"})
    assert status == 201
    status, added = await running.control(
        "POST", f"/guilds/{guild['id']}/bot", json={"permissions": permissions}
    )
    assert status == 201
    general = next(c for c in guild["channels"] if c["name"] == "general")
    return World(guild["id"], guild["id"], added["role"]["id"], general["id"], ids["ada"], ids)


@pytest.fixture
async def world(running: Running) -> World:
    return await make_world(running)


@pytest.fixture
def discord_sandbox_url(running: Running) -> str:
    """Where `discord_at_sandbox` points discord.py."""
    return running.base


class Bot(discord.Client):
    """A stock discord.py client with a command tree, recording events for the tests."""

    def __init__(self, *, members: bool = True) -> None:
        # The privileged GUILD_MEMBERS intent, unless a test wants a bot without it: member
        # events reach only bots that asked for it.
        intents = discord.Intents.default()
        intents.members = members
        super().__init__(intents=intents, guild_ready_timeout=0.05, chunk_guilds_at_startup=False)
        self.tree = app_commands.CommandTree(self)
        self.events: asyncio.Queue[tuple[str, Any]] = asyncio.Queue()
        self.ready = asyncio.Event()

    async def on_ready(self) -> None:
        self.ready.set()

    async def on_resumed(self) -> None:
        self.events.put_nowait(("resumed", None))

    async def on_guild_join(self, guild: discord.Guild) -> None:
        self.events.put_nowait(("guild_join", guild))

    async def on_member_join(self, member: discord.Member) -> None:
        self.events.put_nowait(("member_join", member))

    async def on_guild_role_create(self, role: discord.Role) -> None:
        self.events.put_nowait(("role_create", role))

    async def on_guild_channel_create(self, channel: discord.abc.GuildChannel) -> None:
        self.events.put_nowait(("channel_create", channel))


async def next_event(bot: Bot, name: str) -> Any:
    """The next event called `name` (others are skipped); bounded so a bug can't hang the run."""
    async with asyncio.timeout(5):
        while True:
            event, value = await bot.events.get()
            if event == name:
                return value


@pytest.fixture
async def bot(running: Running, discord_at_sandbox: None) -> AsyncIterator[Bot]:
    """A logged-in, connected and ready discord.py client."""
    client = Bot()
    await client.login(TOKEN)
    task = asyncio.create_task(client.connect(reconnect=True))
    try:
        async with asyncio.timeout(5):
            await client.ready.wait()
        yield client
    finally:
        await client.close()
        await asyncio.wait([task], timeout=5)
