"""The sandbox's invite page, `/invite/{code}`, without a browser: the links the bot gives in
development open a page that shows the server, who invited and the roles joining gives, and the
accept form joins through the same code as the control API; unusable invites are "Invite
Invalid" pages."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from sandbox.console.csrf import CSRF_HEADER, csrf_token
from sandbox.server import SandboxServer
from tests.e2e.harness import DISCORD_TOKEN

MANAGE_ROLES_AND_INVITES = (1 << 28) | (1 << 0) | (1 << 5)


@pytest.fixture
async def server() -> AsyncIterator[SandboxServer]:
    async with SandboxServer() as srv:
        yield srv


@pytest.fixture
async def http(server: SandboxServer) -> AsyncIterator[aiohttp.ClientSession]:
    """A client that opened the sandbox's page, as a browser does: it holds the secret cookie."""
    jar = aiohttp.CookieJar(unsafe=True)
    async with aiohttp.ClientSession(server.base_url, cookie_jar=jar) as session:
        async with session.get("/_sandbox/") as resp:
            assert resp.status == 200
        yield session


async def control(
    http: aiohttp.ClientSession, server: SandboxServer, path: str, body: dict[str, Any]
) -> tuple[int, Any]:
    headers = {CSRF_HEADER: csrf_token(server.control_secret)}
    async with http.post(path, json=body, headers=headers) as resp:
        return resp.status, await resp.json()


async def course_invite(server: SandboxServer, http: aiohttp.ClientSession, **extra: Any) -> str:
    """A server of Ada's with the bot in it, a "Student" role and the bot's invite giving it."""
    async with http.get("/_sandbox/discord/users") as resp:
        people = {u["username"]: u["id"] for u in await resp.json()}
    new = {"name": "CS101 Spring", "owner_id": people["ada"]}
    status, guild = await control(http, server, "/_sandbox/discord/guilds", new)
    assert status == 201, guild
    gid = guild["id"]
    rights = {"permissions": MANAGE_ROLES_AND_INVITES}
    status, _ = await control(http, server, f"/_sandbox/discord/guilds/{gid}/bot", rights)
    assert status in (200, 201)
    headers = {"Authorization": f"Bot {DISCORD_TOKEN}"}
    async with aiohttp.ClientSession(headers=headers) as bot:
        api = server.discord_api_url
        async with bot.post(f"{api}/guilds/{gid}/roles", json={"name": "Student"}) as r:
            assert r.status == 200, await r.text()
            role = (await r.json())["id"]
        async with bot.get(f"{api}/guilds/{gid}/channels") as r:
            channel = next(c["id"] for c in await r.json() if c["type"] == 0)
        body = {"max_age": 0, "role_ids": [role], **extra}
        async with bot.post(f"{api}/channels/{channel}/invites", json=body) as r:
            assert r.status == 200, await r.text()
            return str((await r.json())["code"])


async def test_an_invite_shows_the_server_and_its_roles_and_accepting_joins(
    server: SandboxServer, http: aiohttp.ClientSession
) -> None:
    code = await course_invite(server, http, max_uses=1)
    # Nobody chosen yet: the page shows the invite and asks who is at the browser.
    async with http.get(f"/invite/{code}") as resp:
        assert resp.status == 200
        page = await resp.text()
    assert "CS101 Spring" in page
    assert "Course Bot invited you to join" in page
    assert "<li>Student</li>" in page
    assert "Who are you?" in page
    assert "Accept invite" not in page
    async with http.get("/_sandbox/discord/users") as resp:
        grace = next(u["id"] for u in await resp.json() if u["username"] == "grace")
    status, _ = await control(http, server, "/_sandbox/console/me", {"user_id": grace})
    assert status == 200
    async with http.get(f"/invite/{code}") as resp:
        page = await resp.text()
    assert "Accept invite" in page
    assert f'name="invite" value="{code}"' in page
    assert 'data-api="/_sandbox/console/join"' in page
    assert 'data-next="/_sandbox/servers/{id}?channel=' in page  # lands in the invite's channel
    # The form's post: Grace joins with the invite's role, and lands on the server.
    status, joined = await control(http, server, "/_sandbox/console/join", {"invite": code})
    assert status == 200, joined
    async with http.get(f"/_sandbox/servers/{joined['id']}") as resp:
        assert resp.status == 200
        server_page = await resp.text()
    assert "CS101 Spring" in server_page
    # Used up (max_uses 1): Discord's "Invite Invalid" page, as for an unknown code.
    for wanted in (code, "nope1234"):
        async with http.get(f"/invite/{wanted}") as resp:
            assert resp.status == 404
            invalid = await resp.text()
        assert "Invite Invalid" in invalid
        assert "CS101 Spring" not in invalid


async def test_a_member_opening_the_invite_is_sent_to_the_server(
    server: SandboxServer, http: aiohttp.ClientSession
) -> None:
    code = await course_invite(server, http)
    async with http.get("/_sandbox/discord/users") as resp:
        ada = next(u["id"] for u in await resp.json() if u["username"] == "ada")
    await control(http, server, "/_sandbox/console/me", {"user_id": ada})
    async with http.get(f"/invite/{code}") as resp:
        page = await resp.text()
    assert "already a member" in page
    assert "Accept invite" not in page
