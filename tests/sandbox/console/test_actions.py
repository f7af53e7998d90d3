"""The console's pages and control routes without a browser: CSRF refusals, the page's
security headers, escaping, and the actions (who I am, run, join, install, leave)."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from sandbox.console.csrf import CSRF_HEADER, csrf_token
from sandbox.discord.emulator import DiscordSandbox
from sandbox.server import SandboxServer

APP = 1310000000000000001
COMMANDS = [
    {
        "name": "course",
        "description": "Courses",
        "options": [
            {
                "type": 1,
                "name": "claim",
                "description": "Claim",
                "options": [{"type": 3, "name": "code", "description": "Code", "required": True}],
            },
            {
                "type": 1,
                "name": "limit",
                "description": "Limit",
                "options": [{"type": 4, "name": "count", "description": "N", "required": True}],
            },
        ],
    }
]
PAGES = ("/_sandbox/", "/_sandbox/github", "/_sandbox/journal", "/_sandbox/fault-rules")


@pytest.fixture
async def server() -> AsyncIterator[SandboxServer]:
    async with SandboxServer() as srv:
        yield srv


@pytest.fixture
async def browser_like(server: SandboxServer) -> AsyncIterator[aiohttp.ClientSession]:
    """A client that opened the sandbox's page, as a browser does: it holds the secret cookie."""
    jar = aiohttp.CookieJar(unsafe=True)
    async with aiohttp.ClientSession(server.base_url, cookie_jar=jar) as http:
        async with http.get("/_sandbox/") as resp:
            assert resp.status == 200
        yield http


def token(server: SandboxServer) -> dict[str, str]:
    return {CSRF_HEADER: csrf_token(server.control_secret)}


async def post(
    http: aiohttp.ClientSession, server: SandboxServer, path: str, body: dict[str, Any]
) -> tuple[int, Any]:
    async with http.post(path, json=body, headers=token(server)) as resp:
        return resp.status, await resp.json()


async def users(http: aiohttp.ClientSession) -> dict[str, str]:
    async with http.get("/_sandbox/discord/users") as resp:
        return {u["username"]: u["id"] for u in await resp.json()}


async def act_as(http: aiohttp.ClientSession, server: SandboxServer, name: str) -> None:
    status, _ = await post(
        http, server, "/_sandbox/console/me", {"user_id": (await users(http))[name]}
    )
    assert status == 200


async def test_a_form_post_without_the_pages_token_is_refused(
    server: SandboxServer, browser_like: aiohttp.ClientSession
) -> None:
    """With the secret cookie, a JSON post still needs the CSRF token of this run (403 naming
    it); a form-encoded cross-site post is refused before that; the right token acts."""
    ada = (await users(browser_like))["ada"]
    body = {"name": "Evil", "owner_id": ada}
    async with browser_like.post("/_sandbox/discord/guilds", json=body) as resp:
        assert resp.status == 403
        assert CSRF_HEADER in (await resp.json())["message"]
    wrong = {CSRF_HEADER: csrf_token("another run's secret")}
    async with browser_like.post("/_sandbox/discord/guilds", json=body, headers=wrong) as resp:
        assert resp.status == 403
    cross_site = {"Origin": "https://evil.example", **token(server)}
    async with browser_like.post(
        "/_sandbox/discord/guilds", data={"name": "Evil"}, headers=cross_site
    ) as resp:
        assert resp.status == 403
    discord = server.emulator("discord")
    assert isinstance(discord, DiscordSandbox)
    # The starting world's admin server only: none of the refused posts made a server.
    assert [g.name for g in discord.state.world.guilds.values()] == ["Department Admin"]
    status, _ = await post(browser_like, server, "/_sandbox/discord/guilds", body)
    assert status == 201


async def test_every_page_has_a_csp_no_inline_script_and_the_token_in_its_forms(
    server: SandboxServer, browser_like: aiohttp.ClientSession
) -> None:
    await act_as(browser_like, server, "ada")
    for path in PAGES:
        async with browser_like.get(path) as resp:
            assert resp.status == 200, path
            csp = resp.headers["Content-Security-Policy"]
            page = await resp.text()
        assert "script-src 'self'" in csp
        assert "unsafe-inline" not in csp
        assert not re.search(r"<script(?![^>]*\bsrc=)", page), path
        assert " style=" not in page, path
        forms = page.count("<form data-api")
        assert page.count(f'name="csrf" value="{csrf_token(server.control_secret)}"') == forms


async def test_names_people_chose_are_escaped(
    server: SandboxServer, browser_like: aiohttp.ClientSession
) -> None:
    await act_as(browser_like, server, "ada")
    ada = (await users(browser_like))["ada"]
    evil = "<script>alert(1)</script>"
    status, guild = await post(
        browser_like, server, "/_sandbox/discord/guilds", {"name": evil, "owner_id": ada}
    )
    assert status == 201
    for path in ("/_sandbox/", f"/_sandbox/servers/{guild['id']}"):
        async with browser_like.get(path) as resp:
            page = await resp.text()
        assert evil not in page
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


async def test_run_sends_typed_options_from_the_registered_schema(
    server: SandboxServer, browser_like: aiohttp.ClientSession
) -> None:
    """The bot registers /course; a filled form becomes INTERACTION_CREATE with typed, nested
    options; a bad value names the option and nothing is dispatched."""
    discord = server.emulator("discord")
    assert isinstance(discord, DiscordSandbox)
    bot = {"Authorization": "Bot sandbox-discord-token"}
    async with browser_like.put(
        f"/api/v10/applications/{APP}/commands", json=COMMANDS, headers=bot
    ) as resp:
        assert resp.status == 200, await resp.text()
    await act_as(browser_like, server, "ada")
    ada = (await users(browser_like))["ada"]
    status, guild = await post(
        browser_like, server, "/_sandbox/discord/guilds", {"name": "Course", "owner_id": ada}
    )
    async with browser_like.post(
        f"/_sandbox/discord/guilds/{guild['id']}/bot",
        json={"permissions": 8},
        headers=server.control_headers,
    ) as resp:
        assert resp.status == 201
    async with browser_like.get(f"/_sandbox/servers/{guild['id']}") as resp:
        page = await resp.text()
    assert 'id="cmd-course-claim"' in page
    assert 'id="cmd-course-limit"' in page

    run = {"guild_id": guild["id"], "command": "course limit", "values": {"count": "x"}}
    status, refused = await post(browser_like, server, "/_sandbox/console/run", run)
    assert (status, refused["field"]) == (400, "count")
    assert not discord.state.world.interactions
    run["values"] = {"count": "7"}
    status, sent = await post(browser_like, server, "/_sandbox/console/run", run)
    assert status == 201
    interaction = discord.state.world.interactions[int(sent["id"])]
    assert interaction.payload["data"]["options"] == [
        {"name": "limit", "type": 1, "options": [{"name": "count", "type": 4, "value": 7}]}
    ]
    async with browser_like.get(f"/_sandbox/interactions/{sent['id']}") as resp:
        assert "Waiting for the bot to answer" in await resp.text()
    status, unknown = await post(
        browser_like, server, "/_sandbox/console/run", {**run, "command": "course nope"}
    )
    assert status == 404
    assert "command:" in unknown["message"]


async def test_join_and_leave_as_a_person(
    server: SandboxServer, browser_like: aiohttp.ClientSession
) -> None:
    people = await users(browser_like)
    await act_as(browser_like, server, "ada")
    status, guild = await post(
        browser_like,
        server,
        "/_sandbox/discord/guilds",
        {"name": "Mine", "owner_id": people["ada"]},
    )
    gid = guild["id"]
    status, refused = await post(browser_like, server, f"/_sandbox/console/guilds/{gid}/leave", {})
    assert status == 400
    assert "owner" in refused["message"]
    status, refused = await post(
        browser_like, server, "/_sandbox/console/join", {"invite": "https://discord.gg/nope"}
    )
    assert status == 404
    assert refused["message"].startswith("invite:")

    await act_as(browser_like, server, "grace")
    async with browser_like.get(f"/_sandbox/servers/{gid}") as resp:
        assert resp.status == 403  # not a member: nothing of the server is shown
    discord = server.emulator("discord")
    assert isinstance(discord, DiscordSandbox)
    world = discord.state.world
    # The owner adds her (as a script would, with the secret header: no CSRF token needed).
    async with browser_like.post(
        f"/_sandbox/discord/guilds/{gid}/members",
        json={"user": "grace"},
        headers=server.control_headers,
    ) as resp:
        assert resp.status == 201
    status, left = await post(browser_like, server, f"/_sandbox/console/guilds/{gid}/leave", {})
    assert (status, left) == (200, {"left": gid})
    assert int(people["grace"]) not in world.guilds[int(gid)].members
