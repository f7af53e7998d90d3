"""`/course status` keeps its reply up to date; the bot rides out a gateway reconnect."""

from __future__ import annotations

import asyncio

from provisioning.courses.spec import parse_course
from provisioning.discord.steps.server import needed_permissions
from sandbox.server import SandboxServer
from tests.e2e.harness import Control, Product, laboratory, logins

from .conftest import Person, embed_text, string


async def server_with_bot(control: Control, data: dict[str, object]) -> str:
    guild = await control.call("POST", "/discord/guilds", json={"name": "New", "owner": "ada"})
    body = {"permissions": needed_permissions(parse_course(data))}
    await control.call("POST", f"/discord/guilds/{guild['id']}/bot", json=body)
    await control.join(guild["id"], "grace")  # the TA, so the bot can give her role
    return str(guild["id"])


async def test_the_status_reply_is_edited_as_steps_complete_and_stops_at_done(
    product: Product, sandbox: SandboxServer, control: Control, ada: Person
) -> None:
    """Ada asks for the status of a new course: the reply shows the claim code while the server
    waits, is edited as GitHub and then Discord steps finish, and is left alone once done."""
    people = await control.discord_users()
    data = laboratory(people["ada"], people["grace"])
    await control.github_users(logins(parse_course(data)))
    course_id = await product.create(data)

    seen = await ada.run("status", string("course", "CS201 2027-fall"))
    first = await ada.until(seen["id"], lambda v: bool(v["original"]["embeds"]))
    text = embed_text(first["original"])
    assert "CS201 · 2027-fall: Waiting to start" in text
    assert "0% (0 of" in text
    assert "Updating live" in text
    shown = [text]

    async def next_edit() -> str:
        view = await ada.until(
            seen["id"], lambda v: embed_text(v["original"]) != shown[-1], timeout_s=10
        )
        shown.append(embed_text(view["original"]))
        return shown[-1]

    await product.run()  # every GitHub step; the server waits for a person
    text = await next_edit()
    assert "CS201 · 2027-fall: Needs a person" in text
    code = product.built.claim_code(course_id)
    assert f"`/course claim {code}`" in text
    # The server step's hint carries the install link: the sandbox's page in development.
    assert f"add the bot with this link: {sandbox.base_url}/oauth2/authorize?client_id=" in text

    guild = await server_with_bot(control, data)
    await product.claim(course_id, guild, people["ada"])
    await product.run()
    while "Done" not in shown[-1]:
        try:
            await next_edit()
        except TimeoutError:
            raise AssertionError((shown[-1], await product.states(course_id))) from None
    final = await ada.seen(seen["id"])
    assert "100% (" in shown[-1]
    assert "Final state" in shown[-1]
    assert "Claim code" not in shown[-1]
    edited = final["original"]["edited_timestamp"]
    assert edited is not None
    await asyncio.sleep(product.built.commands.services.live_every_s * 5)
    assert (await ada.seen(seen["id"]))["original"]["edited_timestamp"] == edited


async def test_a_gateway_reconnect_in_the_middle_of_provisioning(
    product: Product, sandbox: SandboxServer, control: Control, ada: Person
) -> None:
    """The sandbox drops every gateway session while the course waits for its server; the bot
    reconnects, and the claim and the rest of the course go through."""
    people = await control.discord_users()
    data = laboratory(people["ada"], people["grace"])
    await control.github_users(logins(parse_course(data)))
    course_id = await product.create(data)
    await product.runner.run_once()  # some GitHub steps done, others not
    reconnected = await control.call("POST", "/discord/gateway/reconnect")
    assert reconnected["reconnected"] >= 1
    await product.run()

    guild = await server_with_bot(control, data)
    code = product.built.claim_code(course_id)
    claimed = await ada.at(guild).run("claim", string("code", code))
    reply = await ada.reply(claimed["id"])
    assert reply["content"].startswith("This server is now the server of CS201")
    await product.run()
    states = await product.states(course_id)
    assert set(states.values()) == {"succeeded"}, {
        k: v for k, v in states.items() if v != "succeeded"
    }
    gateway = await control.call("GET", "/discord/gateway")
    assert gateway["connected"]
