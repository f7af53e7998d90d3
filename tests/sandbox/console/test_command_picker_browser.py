"""The sandbox client's command picker hides what Discord hides, in Debian's Chromium: a
command whose `default_member_permissions` a member lacks ("0": administrators only) and one
whose `contexts` leave out servers; the owner sees every server command, and a member who is
given the permission sees that command too. The client's run route refuses a hidden command."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from playwright.async_api import Browser, Page, expect

from sandbox.discord.permissions import MANAGE_GUILD
from sandbox.server import SandboxServer
from tests.e2e.harness import Control, control_of
from tests.sandbox.console.test_person_browser import act_as

APP = 1310000000000000001
BOT = {"Authorization": "Bot sandbox-discord-token"}
COMMANDS = [
    {"name": "hello", "description": "Anyone"},
    {"name": "manage", "description": "Managers", "default_member_permissions": str(MANAGE_GUILD)},
    {"name": "admins", "description": "Administrators", "default_member_permissions": "0"},
    {"name": "dms", "description": "Direct messages only", "contexts": [1, 2]},
]


@pytest.fixture
async def server() -> AsyncIterator[SandboxServer]:
    async with SandboxServer() as srv:
        yield srv


async def offered(page: Page, base: str, person: str, guild: str) -> list[str]:
    await act_as(page, base, person)
    await page.goto(f"{base}/_sandbox/servers/{guild}")
    await expect(page.locator("details[id^=cmd-]").first).to_be_attached()
    return await page.locator("details[id^=cmd-] summary strong").all_inner_texts()


async def test_commands_a_member_may_not_use_are_not_offered(
    server: SandboxServer, browser: Browser, artifacts: Path
) -> None:
    async with control_of(server) as control, aiohttp.ClientSession(server.base_url) as bot:
        guild = await make_server(control, bot)
        page = await browser.new_page(viewport={"width": 1280, "height": 900})
        base = server.base_url

        assert await offered(page, base, "ada", guild) == ["/admins", "/hello", "/manage"]
        assert await offered(page, base, "grace", guild) == ["/hello"]
        await page.screenshot(path=str(artifacts / "sandbox-picker-member-desktop.png"))
        # What the page hides the client will not send either.
        csrf = await page.locator("input[name=csrf]").first.input_value()
        refused = await page.request.post(
            f"{base}/_sandbox/console/run",
            data={"guild_id": guild, "command": "manage", "values": {}},
            headers={"X-CSRF-Token": csrf},
        )
        assert refused.status == 404
        assert "command:" in (await refused.json())["message"]

        await give_role(control, bot, guild, "grace", MANAGE_GUILD)
        assert await offered(page, base, "grace", guild) == ["/hello", "/manage"]
        await page.close()


async def make_server(control: Control, bot: aiohttp.ClientSession) -> str:
    """Ada's server with the bot in it and the bot's commands registered; Grace a member."""
    async with bot.put(f"/api/v10/applications/{APP}/commands", json=COMMANDS, headers=BOT) as r:
        assert r.status == 200, await r.text()
    guild = await control.call("POST", "/discord/guilds", json={"name": "Dept", "owner": "ada"})
    gid = str(guild["id"])
    await control.call("POST", f"/discord/guilds/{gid}/bot", json={"permissions": 8})
    await control.call("POST", f"/discord/guilds/{gid}/members", json={"user": "grace"})
    return gid


async def give_role(
    control: Control, bot: aiohttp.ClientSession, guild: str, person: str, permissions: int
) -> None:
    people = await control.discord_users()
    role_body = {"name": "Managers", "permissions": str(permissions)}
    async with bot.post(f"/api/v10/guilds/{guild}/roles", json=role_body, headers=BOT) as r:
        assert r.status == 200, await r.text()
        role = (await r.json())["id"]
    path = f"/api/v10/guilds/{guild}/members/{people[person]}/roles/{role}"
    async with bot.put(path, headers=BOT) as r:
        assert r.status == 204, await r.text()
