"""discord.py 2.7.1, unmodified, against the sandbox through its real REST and gateway code."""

from __future__ import annotations

import asyncio

from .conftest import Bot, Running, World, make_world, next_event
from .discordpy import Route, app_commands, discord


async def test_login_ready_and_guild_me(running: Running, world: World, bot: Bot) -> None:
    """The client logs in, gets READY and GUILD_CREATE, and knows its own member (guild.me)."""
    assert bot.user is not None
    assert bot.user.name == "Course Bot"
    guild = bot.get_guild(int(world.guild_id))
    assert guild is not None
    assert guild.me is not None
    assert guild.me.top_role.id == int(world.bot_role_id)
    assert guild.me.guild_permissions.manage_roles
    assert {c.name for c in guild.channels} >= {"general", "Text Channels"}


async def test_bot_added_later_dispatches_guild_create(running: Running, bot: Bot) -> None:
    """Adding the bot to a new server through the control API fires on_guild_join."""
    world = await make_world(running)
    guild = await next_event(bot, "guild_join")
    assert guild.id == int(world.guild_id)
    assert guild.me is not None


async def test_slash_command_defer_and_followup(running: Running, world: World, bot: Bot) -> None:
    """tree.sync registers the command; a person runs it; the bot defers and follows up."""
    done = asyncio.Event()

    @app_commands.command(name="course", description="Course admin")
    async def course(
        interaction: discord.Interaction, code: str, roster: discord.Attachment
    ) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        text = (await roster.read()).decode()
        await interaction.followup.send(f"{code}: {len(text.splitlines()) - 1} students")
        done.set()

    bot.tree.add_command(course)
    synced = await bot.tree.sync()
    assert [c.name for c in synced] == ["course"]
    status, listed, _ = await running.api("GET", f"/applications/{bot.application_id}/commands")
    assert status == 200
    assert listed[0]["name"] == "course"

    options = [
        {"name": "code", "type": 3, "value": "CS101"},
        {
            "name": "roster",
            "type": 11,
            "attachment": {"filename": "r.csv", "text": "login\na\nb\n"},
        },
    ]
    status, created = await running.control(
        "POST",
        "/interactions",
        json={"guild_id": world.guild_id, "user": "ada", "name": "course", "options": options},
    )
    assert status == 201
    async with asyncio.timeout(5):
        await done.wait()
    status, seen = await running.control("GET", f"/interactions/{created['id']}")
    assert status == 200
    assert seen["callback"]["type"] == 5
    assert seen["callback"]["data"]["flags"] == 64
    assert [m["content"] for m in seen["followups"]] == ["CS101: 2 students"]


async def test_bot_creates_role_channel_invite_and_user_joins(
    running: Running, world: World, bot: Bot
) -> None:
    """Raw Route calls create a role, a private channel and a role_ids invite; a join grants it."""
    gid = int(world.guild_id)
    role = await bot.http.request(
        Route("POST", "/guilds/{guild_id}/roles", guild_id=gid),
        json={"name": "Lab 01", "permissions": "0"},
        reason="cp op=1",
    )
    assert (await next_event(bot, "role_create")).name == "Lab 01"
    overwrites = [
        {"id": str(gid), "type": 0, "allow": 0, "deny": 1024},
        {"id": role["id"], "type": 0, "allow": 117760 - 32768 + 32768, "deny": 0},
        {"id": str(bot.application_id), "type": 1, "allow": 68624, "deny": 0},
    ]
    channel = await bot.http.request(
        Route("POST", "/guilds/{guild_id}/channels", guild_id=gid),
        json={"name": "lab-01", "type": 0, "permission_overwrites": overwrites},
        reason="cp op=2",
    )
    assert (await next_event(bot, "channel_create")).name == "lab-01"
    body = {"max_age": 604800, "max_uses": 2, "unique": True, "role_ids": [role["id"]]}
    invite = await bot.http.request(
        Route("POST", "/channels/{channel_id}/invites", channel_id=int(channel["id"])),
        json=body,
        reason="cp op=3",
    )
    assert invite["roles"][0]["id"] == role["id"]
    status, joined = await running.control(
        "POST", f"/invites/{invite['code']}/accept", json={"user": "bob"}
    )
    assert status == 200
    assert joined["roles"] == [role["id"]]
    member = await next_event(bot, "member_join")
    assert member.name == "bob"
    assert [r.name for r in member.roles[1:]] == ["Lab 01"]
