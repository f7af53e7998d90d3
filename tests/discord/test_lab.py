"""A laboratory course: private lab channels only their group, staff and the bot can see."""

from __future__ import annotations

import pytest

from clients.discord.gateway import DiscordRestGateway
from provisioning.discord.gateway import invite_code_hash
from provisioning.discord.steps.server import needed_permissions
from provisioning.errors import ActionRequiredError
from provisioning.permissions import (
    BOT_CHANNEL,
    BOT_INSTALL,
    LAB_MEMBER,
    LAB_STAFF,
    MANAGE_MESSAGES,
    VIEW_CHANNEL,
)
from provisioning.step import StepResult
from sandbox.discord import DiscordSandbox
from sandbox.discord.permissions import channel_permissions
from sandbox.server import SandboxServer

from .conftest import Control, make_world
from .steps import course, run_all, run_step


async def test_lab_course_needs_manage_messages(
    control: Control, gateway: DiscordRestGateway
) -> None:
    """Lab overwrites allow Manage Messages to staff, which the bot must then have itself: a
    bot added without it is told to be re-added with the full permission set."""
    world = await make_world(control, permissions=BOT_INSTALL & ~MANAGE_MESSAGES)
    spec = course(world.users, kind="laboratory", groups=2)
    done = {"discord.server": StepResult(world.guild_id, {})}
    with pytest.raises(ActionRequiredError) as caught:
        await run_step(spec, "discord.server", gateway, done)
    assert caught.value.reason == "discord.permissions"
    assert "Manage Messages" in caught.value.message
    assert f"permissions={needed_permissions(spec)}" in caught.value.message


async def test_lab_channels_are_private_to_group_staff_and_bot(
    server: SandboxServer, control: Control, gateway: DiscordRestGateway
) -> None:
    """Overwrites as PLATFORM.md §1.5; a student of lab-01 sees #lab-01 and not #lab-02."""
    users = {u["username"]: u["id"] for u in await control("GET", "/users")}
    spec = course(users, kind="laboratory", groups=2)
    world = await make_world(control, permissions=needed_permissions(spec))
    await control("POST", f"/guilds/{world.guild_id}/members", json={"user": "grace"})
    results = await run_all(spec, gateway, world.guild_id)

    emulator = server.emulator("discord")
    assert isinstance(emulator, DiscordSandbox)
    state = emulator.state.world
    guild = state.guilds[int(world.guild_id)]
    labs = guild.channels[int(results["discord.category:labs-1"].external_id)]
    assert labs.name == "Labs"
    lab1 = guild.channels[int(results["discord.channel:lab-01"].external_id)]
    lab2 = guild.channels[int(results["discord.channel:lab-02"].external_id)]
    assert lab1.parent_id == labs.id
    role = {
        k: int(results[f"discord.role:{k}"].external_id) for k in ("lab-01", "instructor", "ta")
    }
    rules = {(o.id, o.type): (o.allow, o.deny) for o in lab1.overwrites}
    assert rules == {
        (guild.id, 0): (0, VIEW_CHANNEL),
        (role["lab-01"], 0): (LAB_MEMBER, 0),
        (role["instructor"], 0): (LAB_STAFF, 0),
        (role["ta"], 0): (LAB_STAFF, 0),
        (state.bot_user_id, 1): (BOT_CHANNEL, 0),
    }

    lab_invite = results["discord.invite:lab-01"].external_id
    code = next(c for c in state.invites if invite_code_hash(c) == lab_invite)
    await control("POST", f"/invites/{code}/accept", json={"user": "bob"})
    bob, grace = int(users["bob"]), int(users["grace"])
    assert channel_permissions(guild, lab1, bob) & VIEW_CHANNEL
    assert not channel_permissions(guild, lab2, bob) & VIEW_CHANNEL
    assert channel_permissions(guild, lab2, grace) & VIEW_CHANNEL
