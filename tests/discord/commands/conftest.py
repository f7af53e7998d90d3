"""The product as `python -m bot` builds it, its bot connected to the sandbox's gateway with the
`/course` commands installed (as `bot.app.run` does), and people acting in the sandbox's Discord
client through the control API. Everything is real: discord.py, the services, the database."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import io
import json
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

import pytest

from cogs.course.group import install
from sandbox.discord.config import AdminServer
from sandbox.server import SandboxServer
from tests.e2e.discordpy import discord
from tests.e2e.harness import (
    GOVERNOR_SCALE,
    SANDBOX_RATE_SCALE,
    Control,
    Product,
    control_of,
    open_product,
    until,
)

ADMIN_GUILD = str(AdminServer().guild_id)
ADMIN_ROLE = AdminServer().role
View = dict[str, Any]
PERSON_PAUSE_S = 0.2


@pytest.fixture
async def sandbox() -> AsyncIterator[SandboxServer]:
    async with SandboxServer(rate_scale=SANDBOX_RATE_SCALE) as server:
        yield server


@pytest.fixture
async def control(sandbox: SandboxServer) -> AsyncIterator[Control]:
    async with control_of(sandbox) as ctl:
        yield ctl


@contextlib.asynccontextmanager
async def running_bot(
    database_url: str, sandbox: SandboxServer, rate_scale: float = GOVERNOR_SCALE
) -> AsyncIterator[Product]:
    """The product built, its slash commands synced and its gateway connected, as `bot.app.run`
    starts them; the runner is not started (tests run its rounds)."""
    async with open_product(database_url, sandbox, rate_scale=rate_scale) as product:
        client = product.built.discord_client
        tree: discord.app_commands.CommandTree[discord.Client]
        tree = discord.app_commands.CommandTree(client)
        install(tree, product.built.commands)
        await tree.sync()
        task = asyncio.create_task(client.connect(reconnect=True))
        try:
            await until(
                lambda: client.get_guild(int(ADMIN_GUILD)) is not None,
                timeout_s=10,
                what="the bot to see the admin server",
            )
            yield product
        finally:
            await _handlers_finished()
            await client.close()
            await asyncio.wait([task], timeout=5)


async def _handlers_finished() -> None:
    """Wait for the interactions the bot is still handling (their last audit row may be in
    flight after the person saw the reply), so closing the database leaves nothing behind."""
    busy = [
        t
        for t in asyncio.all_tasks()
        if t.get_name().startswith(("CommandTree-invoker", "discord-ui-"))
    ]
    if busy:
        await asyncio.wait(busy, timeout=5)


@pytest.fixture
async def product(database_url: str, sandbox: SandboxServer) -> AsyncIterator[Product]:
    async with running_bot(database_url, sandbox) as built:
        yield built


@dataclass
class Person:
    """Someone in the sandbox's Discord client, in one server."""

    control: Control
    name: str
    guild_id: str = ADMIN_GUILD

    def at(self, guild_id: str) -> Person:
        return Person(self.control, self.name, guild_id)

    async def run(self, sub: str, *options: dict[str, Any], wait: bool = True) -> View:
        """`/course sub options…`; the interaction once the bot answered."""
        body = {
            "guild_id": self.guild_id,
            "user": self.name,
            "name": "course",
            "options": [{"name": sub, "type": 1, "options": list(options)}],
        }
        path = "/discord/interactions" + ("?wait=1" if wait else "")
        # A stream, not bytes: aiohttp warns that a large body sent at once blocks its loop.
        stream = io.BytesIO(json.dumps(body).encode())
        headers = {"Content-Type": "application/json"}
        return dict(await self.control.call("POST", path, data=stream, headers=headers))

    async def autocomplete(self, sub: str, option: str, text: str) -> list[dict[str, Any]]:
        body = {
            "guild_id": self.guild_id,
            "user": self.name,
            "name": "course",
            "options": [
                {
                    "name": sub,
                    "type": 1,
                    "options": [{"name": option, "type": 3, "value": text, "focused": True}],
                }
            ],
        }
        answer = await self.control.call("POST", "/discord/interactions/autocomplete", json=body)
        return list(answer["choices"])

    async def submit(self, interaction_id: str, values: dict[str, str]) -> View:
        # A person reads the modal first: discord.py registers it only after its callback
        # request returned, which may be after the control API saw the callback arrive.
        await asyncio.sleep(PERSON_PAUSE_S)
        path = f"/discord/interactions/{interaction_id}/modal?wait=1"
        return dict(await self.control.call("POST", path, json={"values": values}))

    async def click(self, message_id: str, custom_id: str, *, wait: bool = True) -> View:
        path = f"/discord/messages/{message_id}/click" + ("?wait=1" if wait else "")
        body = {"custom_id": custom_id, "user": self.name}
        return dict(await self.control.call("POST", path, json=body))

    async def seen(self, interaction_id: str) -> View:
        return dict(await self.control.call("GET", f"/discord/interactions/{interaction_id}"))

    async def until(
        self, interaction_id: str, check: Callable[[View], bool], timeout_s: float = 10
    ) -> View:
        """The interaction as this person sees it once `check` holds."""
        async with asyncio.timeout(timeout_s):
            while True:
                view = await self.seen(interaction_id)
                if check(view):
                    return view
                await asyncio.sleep(0.02)

    async def reply(self, interaction_id: str) -> dict[str, Any]:
        """The first follow-up (the answer after a defer), once it came."""
        view = await self.until(interaction_id, lambda v: bool(v["followups"]))
        return dict(view["followups"][0])


@pytest.fixture
def ada(control: Control) -> Person:
    """The sandbox's instructor: owner of the admin server, with the admin role there."""
    return Person(control, "ada")


def string(name: str, value: str) -> dict[str, Any]:
    return {"name": name, "type": 3, "value": value}


def attachment(name: str, data: bytes, filename: str = "roster.csv") -> dict[str, Any]:
    encoded = base64.b64encode(data).decode()
    file = {"filename": filename, "content_type": "text/csv", "base64": encoded}
    return {"name": name, "type": 11, "attachment": file}


def ephemeral(message: dict[str, Any]) -> bool:
    return bool(message["flags"] & 64)


def embed_text(message: dict[str, Any]) -> str:
    """Everything a person reads in a message's embeds, in order."""
    parts: list[str] = []
    for embed in message.get("embeds", []):
        parts += [embed.get("title", ""), embed.get("description", "")]
        for field in embed.get("fields", []):
            parts += [field["name"], field["value"]]
        parts.append((embed.get("footer") or {}).get("text", ""))
    return "\n".join(p for p in parts if p)


def buttons(message: dict[str, Any]) -> dict[str, str]:
    """Label → custom_id of the message's buttons."""
    return {
        b["label"]: b["custom_id"]
        for row in message.get("components", [])
        for b in row.get("components", [])
        if b.get("type") == 2
    }
