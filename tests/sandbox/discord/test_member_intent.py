"""GUILD_MEMBER_ADD reaches only bots that identified with the GUILD_MEMBERS intent, whatever
the way in: an OAuth2 `guilds.join` (PUT member) or an invite (real discord.py clients)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from .conftest import TOKEN, Bot, Running, World, next_event
from .test_oauth import token_for


@contextlib.asynccontextmanager
async def connected(bot: Bot) -> AsyncIterator[Bot]:
    await bot.login(TOKEN)
    task = asyncio.create_task(bot.connect(reconnect=True))
    try:
        async with asyncio.timeout(5):
            await bot.ready.wait()
        yield bot
    finally:
        await bot.close()
        await asyncio.wait([task], timeout=5)


async def test_member_add_only_with_the_members_intent(
    running: Running, world: World, discord_at_sandbox: None
) -> None:
    async with (
        connected(Bot(members=True)) as with_intent,
        connected(Bot(members=False)) as without,
    ):
        g = world.guild_id
        token = await token_for(running, "bob")
        status, _, _ = await running.api(
            "PUT", f"/guilds/{g}/members/{world.users['bob']}", json={"access_token": token}
        )
        assert status == 201
        member = await next_event(with_intent, "member_join")
        assert member.name == "bob"
        assert member.guild.id == int(g)

        status, invite, _ = await running.api(
            "POST", f"/channels/{world.general_id}/invites", json={}
        )
        assert status == 200
        status, _ = await running.control(
            "POST", f"/invites/{invite['code']}/accept", json={"user": "grace"}
        )
        assert status == 200
        member = await next_event(with_intent, "member_join")
        assert member.name == "grace"

        # The bot without the intent saw neither join: a role created after them reaches
        # it (its stream is past the joins), and no member event came before.
        status, _, _ = await running.api("POST", f"/guilds/{g}/roles", json={"name": "Lab"})
        assert status == 200
        seen: list[str] = []
        async with asyncio.timeout(5):
            while not seen or seen[-1] != "role_create":
                seen.append((await without.events.get())[0])
        assert "member_join" not in seen
        session_intents = sorted(s.intents for s in running.sandbox.gateway.sessions.values())
        assert len(session_intents) == 2
        assert session_intents[0] & 2 == 0
        assert session_intents[1] & 2 == 2
