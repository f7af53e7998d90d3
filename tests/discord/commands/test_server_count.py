"""The bot's server count: a warning from 90 servers (course status, /course status, the course
log once, /metrics), and at 100 (an unverified app's cap) a course's server step that waits,
says why and what to do, and goes on by itself once the count is 99."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
from aiohttp.test_utils import TestClient, TestServer

from provisioning.courses.spec import parse_course
from provisioning.discord.server_count import CAP_REASON
from provisioning.discord.steps.server import needed_permissions
from sandbox.discord.bot_guilds import CAP_MESSAGE
from sandbox.server import SandboxServer
from tests.e2e.harness import Control, Product, all_steps, lecture, logins, until

from .conftest import ADMIN_GUILD, Person, buttons, embed_text, string
from .test_create_flow import EXAMPLES, preview


async def set_servers(product: Product, control: Control, count: int) -> None:
    """The bot is in `count` servers in all (the admin server among them), and its gateway
    connection has seen every join and leave."""
    body = await control.call("PUT", "/discord/bot-guilds", json={"others": count - 1})
    assert body["count"] == count
    client = product.built.discord_client
    await until(lambda: len(client.guilds) == count, timeout_s=20, what=f"{count} guilds")


@contextlib.asynccontextmanager
async def rest(product: Product) -> AsyncIterator[aiohttp.ClientSession]:
    """The product's web application on 127.0.0.1, and a session carrying an API token."""
    token = await product.built.tokens.create("server-count")
    async with TestClient(TestServer(product.built.web_app, host="127.0.0.1")) as client:
        base = str(client.make_url("/"))
        auth = {"Authorization": f"Bearer {token}"}
        async with aiohttp.ClientSession(base, headers=auth) as http:
            yield http


async def course_status(http: aiohttp.ClientSession, course_id: str) -> dict[str, Any]:
    async with http.get(f"/courses/{course_id}/status") as response:
        assert response.status == 200, await response.text()
        return dict(await response.json())


async def metrics(http: aiohttp.ClientSession) -> str:
    async with http.get("/metrics") as response:
        assert response.status == 200
        return await response.text()


async def log_titles(control: Control) -> list[str]:
    """The titles of the messages in the admin server's #course-log, as members see them."""
    guild = await control.call("GET", f"/discord/guilds/{ADMIN_GUILD}")
    channel = next(c for c in guild["channels"] if c["name"] == "course-log")
    messages = await control.call("GET", f"/discord/channels/{channel['id']}/messages")
    return [m["embeds"][0]["title"] for m in messages if m.get("embeds")]


async def test_at_90_servers_the_status_the_log_and_metrics_warn(
    product: Product, control: Control, ada: Person
) -> None:
    """90 servers: the REST status and `/course status` carry the warning, `/metrics` has the
    count and the limit, the course log gets one message however often the count is checked,
    and one more only after the count fell under 90 and crossed it again."""
    people = await control.discord_users()
    course_id = await product.create(lecture(people["ada"], people["grace"]))
    watch = product.built.servers
    async with rest(product) as http:
        await set_servers(product, control, 89)
        assert (await watch.check()).count == 89
        below = await course_status(http, course_id)
        assert below["discord_servers"] is None
        assert "discord_bot_servers 89.0" in await metrics(http)

        await set_servers(product, control, 90)
        for _ in range(3):
            await watch.check()
        status = await course_status(http, course_id)
        servers = status["discord_servers"]
        assert (servers["count"], servers["limit"], servers["at_cap"]) == (90, 100, False)
        assert servers["message"].startswith(
            "The bot is in 90 of the 100 servers an unverified Discord app may join: 10 more "
            "course servers can be claimed."
        )
        assert "verify the app" in servers["message"]
        assert "archive old courses and remove the bot from their servers" in servers["message"]
        text = await metrics(http)
        assert "discord_bot_servers 90.0" in text
        assert "discord_bot_servers_limit 100.0" in text

    warning = "Discord: the bot is in 90 of 100 servers"
    assert (await log_titles(control)).count(warning) == 1
    seen = await ada.run("status", string("course", "CS101 2027-spring"))
    card = await ada.until(seen["id"], lambda v: bool(v["original"]["embeds"]))
    shown = embed_text(card["original"])
    assert "Discord servers" in shown
    assert "The bot is in 90 of the 100 servers an unverified Discord app may join" in shown

    await set_servers(product, control, 85)
    await watch.check()
    await set_servers(product, control, 91)
    await watch.check()
    await watch.check()
    titles = await log_titles(control)
    assert titles.count(warning) == 1
    assert titles.count("Discord: the bot is in 91 of 100 servers") == 1


async def test_at_100_servers_the_claim_waits_and_goes_on_at_99(
    product: Product, sandbox: SandboxServer, control: Control, ada: Person
) -> None:
    """100 servers: the new course's server step waits with why and what to do (the bot cannot
    join its server: the sandbox refuses as Discord does); at 99 the scheduled check sends it
    back, it offers the install link again, the claim's answer says the bot is at 100 now, and
    the course completes with one server and one set of roles."""
    people = await control.discord_users()
    data = lecture(people["ada"], people["grace"])
    spec = parse_course(data)
    await control.github_users(logins(spec))
    course_id = await product.create(data)
    watch = product.built.servers
    await set_servers(product, control, 100)
    await watch.check()
    await product.run()

    steps = {s.key: s for s in await all_steps(product.sessions, course_id)}
    server = steps["discord.server"]
    assert (server.state, server.last_error_code) == ("awaiting_action", CAP_REASON)
    async with rest(product) as http:
        status = await course_status(http, course_id)
    action = next(a for a in status["actions"] if a["step_key"] == "discord.server")
    assert action["hint"].startswith(
        "The bot is in 100 servers, and unverified Discord apps stop at 100: it cannot be "
        "added to this course's server. To go on, verify the app"
    )
    assert "archive old courses and remove the bot from their servers" in action["hint"]
    assert status["discord_servers"]["at_cap"] is True

    guild = await control.call("POST", "/discord/guilds", json={"name": "CS101", "owner": "ada"})
    async with control.http.post(
        f"{sandbox.base_url}/_sandbox/discord/guilds/{guild['id']}/bot", json={"permissions": 8}
    ) as refused:
        assert (refused.status, (await refused.json())["error"]) == (400, CAP_MESSAGE)

    seen = await ada.run("status", string("course", "CS101 2027-spring"))
    card = await ada.until(seen["id"], lambda v: bool(v["original"]["embeds"]))
    shown = embed_text(card["original"])
    assert "unverified Discord apps stop at 100" in shown
    # Nobody is sent to add the bot (refused at the cap) or given the claim code yet.
    assert "add the bot" not in shown.lower()
    assert "Claim code" not in shown

    # Nothing moves while the count stays at 100, however often it is checked.
    await watch.check()
    assert await product.run() == 0

    await set_servers(product, control, 99)
    await watch.check()
    await product.run()
    server = next(s for s in await all_steps(product.sessions, course_id) if s.key == server.key)
    assert (server.state, server.last_error_code) == ("awaiting_action", "discord.claim")
    assert "/course claim" in (server.action_hint or "")

    await control.call(
        "POST", f"/discord/guilds/{guild['id']}/bot", json={"permissions": needed_permissions(spec)}
    )
    await control.join(guild["id"], "grace")
    code = product.built.claim_code(course_id)
    seen = await ada.at(guild["id"]).run("claim", string("code", code))
    answer = (await ada.reply(seen["id"]))["content"]
    assert "is now the server of CS101 2027-spring" in answer
    assert (
        "**Discord servers:** The bot is now in 100 servers, and unverified Discord apps stop "
        "at 100: no other course can add it to its server until you verify the app"
    ) in answer
    await product.run()
    assert set((await product.states(course_id)).values()) == {"succeeded"}
    world = await control.call("GET", f"/discord/guilds/{guild['id']}")
    names = [r["name"] for r in world["roles"]]
    assert sorted(n for n in names if n in ("Instructor", "TA", "Student")) == [
        "Instructor",
        "Student",
        "TA",
    ]


async def test_a_course_confirmed_at_100_servers_is_told_its_server_waits_and_why(
    product: Product, control: Control, ada: Person
) -> None:
    """At 100 servers Ada confirms a new course: the answer says the course's server has to
    wait because the bot cannot join another server, and what to do, before the steps for
    later (below the cap the answer is as `test_create_flow` reads it)."""
    await set_servers(product, control, 100)
    await product.built.servers.check()
    message = await preview(ada, (EXAMPLES / "roster.csv").read_bytes())
    confirm = await ada.click(message["id"], buttons(message)["Confirm"])
    text = embed_text(await ada.reply(confirm["id"]))
    assert "The course's Discord server has to wait: the bot is at the cap" in text
    assert "Once it can join again, the course's server is yours to create:" in text
    assert "The bot is in 100 servers, and unverified Discord apps stop at 100" in text
    assert "verify the app in the Discord Developer Portal" in text
    assert "archive old courses and remove the bot from their servers" in text
