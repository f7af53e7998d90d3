"""The bot's server count: filler guilds, the cap of unverified apps, the paged list, leaving."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from sandbox.discord import DiscordConfig
from sandbox.discord.bot_guilds import CAP_MESSAGE
from tests.sandbox.consent import browser_session, decide

from .conftest import BOT_PERMISSIONS, Running, serve

APP_ID = str(DiscordConfig().application_id)


async def _new_server(running: Running, name: str = "CS999") -> str:
    status, guild = await running.control("POST", "/guilds", json={"name": name, "owner": "ada"})
    assert status == 201
    return str(guild["id"])


async def _all_pages(running: Running, limit: int, **start: str) -> list[str]:
    """Walk `GET /users/@me/guilds` page by page (forwards with `after`, else `before`)."""
    seen: list[str] = []
    query: dict[str, Any] = {"limit": limit, **start}
    while True:
        status, page, _ = await running.api("GET", "/users/@me/guilds", params=query)
        assert status == 200
        if not page:
            return seen
        ids = [g["id"] for g in page]
        assert len(ids) <= limit
        if "before" in query:
            seen = ids + seen
            query["before"] = ids[0]
        else:
            seen += ids
            query["after"] = ids[-1]


async def test_an_unverified_bot_in_100_servers_cannot_join_another(running: Running) -> None:
    """With 99 other servers plus the admin server the bot is at 100: adding it to a new
    server is refused with a message naming the cap; one server fewer and it joins."""
    status, body = await running.control("PUT", "/bot-guilds", json={"others": 99})
    assert (status, body) == (200, {"count": 100, "others": 99, "limit": 100, "verified": False})
    guild = await _new_server(running)
    status, body = await running.control(
        "POST", f"/guilds/{guild}/bot", json={"permissions": BOT_PERMISSIONS}
    )
    assert (status, body["error"]) == (400, CAP_MESSAGE)
    assert "unverified" in CAP_MESSAGE
    assert "100 servers" in CAP_MESSAGE
    status, body = await running.control("PUT", "/bot-guilds", json={"others": 98})
    assert body["count"] == 99
    status, _ = await running.control(
        "POST", f"/guilds/{guild}/bot", json={"permissions": BOT_PERMISSIONS}
    )
    assert status == 201
    status, body = await running.control("GET", "/bot-guilds")
    assert body["count"] == 100


async def test_the_count_cannot_be_set_past_the_cap(running: Running) -> None:
    """An unverified app cannot be put in 101 servers: the control route says how many fit."""
    status, body = await running.control("PUT", "/bot-guilds", json={"others": 100})
    assert status == 400
    assert body["error"].startswith("others: at most 99")
    status, body = await running.control("PUT", "/bot-guilds", json={"others": "many"})
    assert (status, body["error"]) == (400, "others must be an integer")


async def test_a_verified_app_has_no_maximum() -> None:
    """`app_verified`: 150 other servers, and the bot still joins a new one."""
    async with serve(DiscordConfig(app_verified=True)) as running:
        status, body = await running.control("PUT", "/bot-guilds", json={"others": 150})
        assert (status, body["count"], body["limit"]) == (200, 151, None)
        guild = await _new_server(running)
        status, _ = await running.control(
            "POST", f"/guilds/{guild}/bot", json={"permissions": BOT_PERMISSIONS}
        )
        assert status == 201


async def test_my_guilds_pages_with_after_and_before(running: Running) -> None:
    """`GET /users/@me/guilds` lists every server of the bot by id, 200 at most per page, and
    pages the same both ways."""
    await running.control("PUT", "/bot-guilds", json={"others": 44})
    status, first, _ = await running.api("GET", "/users/@me/guilds")
    assert status == 200
    assert len(first) == 45
    ids = [g["id"] for g in first]
    assert ids == sorted(ids, key=int)
    assert set(first[0]) >= {"id", "name", "icon", "banner", "owner", "permissions", "features"}
    assert await _all_pages(running, 10) == ids
    assert await _all_pages(running, 7, before=str(int(ids[-1]) + 1)) == ids
    status, body, _ = await running.api("GET", "/users/@me/guilds", params={"limit": 201})
    assert (status, body["code"]) == (400, 50035)


async def test_leaving_a_server_frees_a_place(running: Running) -> None:
    """`DELETE /users/@me/guilds/{id}`: 204, the bot is no longer there and one more server
    may add it."""
    await running.control("PUT", "/bot-guilds", json={"others": 99})
    _, guilds, _ = await running.api("GET", "/users/@me/guilds")
    leaving = next(g["id"] for g in guilds if g["name"].startswith("Other community"))
    status, _, _ = await running.api("DELETE", f"/users/@me/guilds/{leaving}")
    assert status == 204
    status, body, _ = await running.api("GET", f"/guilds/{leaving}")
    assert (status, body["code"]) == (404, 10004)
    guild = await _new_server(running)
    status, _ = await running.control(
        "POST", f"/guilds/{guild}/bot", json={"permissions": BOT_PERMISSIONS}
    )
    assert status == 201


async def test_the_install_page_refuses_at_the_cap(running: Running) -> None:
    """The install link's Authorize at 100 servers: the page answers 400 with the cap's
    message and the bot is not added."""
    await running.control("PUT", "/bot-guilds", json={"others": 99})
    guild = await _new_server(running)
    params = {"client_id": APP_ID, "scope": "bot applications.commands"}
    url = f"{running.base}/oauth2/authorize?{urlencode({**params, 'permissions': BOT_PERMISSIONS})}"
    async with browser_session() as http:
        status, _, page = await decide(http, url, "ada", extra={"guild_id": guild})
    assert status == 400
    assert CAP_MESSAGE in page
    _, body = await running.control("GET", "/bot-guilds")
    assert body["count"] == 100
