"""The member-join fallback over the real gateway (the bot identifies with the members intent):
a roster student who joins the server some other way gets exactly their roles; a stranger gets
nothing and is listed for staff."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import pytest

from provisioning.courses.spec import parse_course
from sandbox.server import SandboxServer
from tests.e2e.harness import Control, Product, discord_world, logins, until
from tests.students.test_join_email import lab_with_emails


@pytest.fixture
async def connected(product: Product) -> AsyncIterator[Product]:
    """The product's Discord client connected to the sandbox's gateway, as `bot.app` runs it."""
    client = product.built.discord_client
    task = asyncio.create_task(client.connect(reconnect=False))
    await asyncio.wait_for(client.wait_until_ready(), timeout=30)
    assert client.intents.members
    try:
        yield product
    finally:
        await client.close()
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await task


async def test_roster_members_get_their_roles_and_strangers_are_listed(
    connected: Product, control: Control, people: dict[str, str], sandbox: SandboxServer
) -> None:
    """Alan is on the roster (lab-01) with his Discord id and joins without an invite's roles:
    he gets Student and Lab 01, nothing else; Barbara, on nobody's line, gets nothing and is
    listed for staff."""
    product = connected
    data = lab_with_emails(people)
    data["students"][0]["discord_id"] = people["alan"]
    spec = parse_course(data)
    await control.github_users(logins(spec))
    course_id = await product.create(data)
    await product.run()
    guild = await control.server_with_bot(spec)
    await product.claim(course_id, guild, people["ada"])
    await product.run()

    await control.join(guild, "alan")
    await control.join(guild, "barbara")

    def roles_of(user: str) -> set[int]:
        server = discord_world(sandbox).guilds[int(guild)]
        return set(server.members[int(people[user])].roles) - {server.id}

    def role_ids() -> dict[str, int]:
        server = discord_world(sandbox).guilds[int(guild)]
        return {r.name: r.id for r in server.roles.values()}

    await until(lambda: len(roles_of("alan")) == 2, timeout_s=15, what="Alan's roles")
    joins = product.built.member_joins

    async def listed() -> bool:
        return bool(await joins.unknown_joiners(course_id))

    await until(listed, timeout_s=15, what="Barbara listed")
    assert roles_of("alan") == {role_ids()["Student"], role_ids()["Lab 01"]}
    assert roles_of("barbara") == set()
    [stranger] = await joins.unknown_joiners(course_id)
    assert (stranger.user_id, stranger.name) == (people["barbara"], "barbara")
