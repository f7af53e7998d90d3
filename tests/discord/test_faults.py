"""Lost and repeated creates end in one resource; a bot role too low waits for the owner."""

from __future__ import annotations

from collections import Counter

import pytest

from clients.discord.gateway import DiscordRestGateway
from provisioning.errors import ActionRequiredError
from sandbox.discord import DiscordSandbox
from sandbox.server import SandboxServer

from .conftest import Control, ListSink, World
from .steps import course, run_all, run_step


def channel_names(server: SandboxServer, guild_id: str) -> Counter[tuple[str, int]]:
    """Our channels: categories named CS101 and the channels under them (the server's own
    #general, under "Text Channels", is not ours)."""
    emulator = server.emulator("discord")
    assert isinstance(emulator, DiscordSandbox)
    guild = emulator.state.world.guilds[int(guild_id)]
    ours = {c.id for c in guild.channels.values() if c.name == "CS101" and c.type == 4}
    return Counter(
        (c.name, c.type) for c in guild.channels.values() if c.id in ours or c.parent_id in ours
    )


@pytest.mark.parametrize("status", [502, 0], ids=["resent-by-discord.py", "dropped"])
async def test_create_applied_then_failed_leaves_exactly_one_channel(
    server: SandboxServer,
    control: Control,
    world: World,
    gateway: DiscordRestGateway,
    sink: ListSink,
    status: int,
) -> None:
    """502 after the create (discord.py sends it again) or a dropped answer: one category."""
    await control("POST", f"/guilds/{world.guild_id}/members", json={"user": "grace"})
    rule = {
        "kind": "apply_then_fail",
        "platform": "discord",
        "method": "POST",
        "path": "/guilds/*/channels",
        "count": 1,
        "status": status,
    }
    await control.faults(rule)
    results = await run_all(course(world.users), gateway, world.guild_id)

    names = channel_names(server, world.guild_id)
    assert names[("CS101", 4)] == 1
    for name in ("announcements", "general", "lectures", "qa-help"):
        assert names[(name, 0)] == 1
    category = results["discord.category:course"].external_id
    posts = [x for x, _ in sink.rows if x.method == "POST" and x.path.endswith("/channels")]
    assert posts[0].status == (status or None)
    if status == 502:
        deletes = [x for x, _ in sink.rows if x.method == "DELETE"]
        assert len(deletes) == 1
        assert not deletes[0].path.endswith(category)


async def test_bot_role_below_the_course_roles_waits_for_the_owner(
    control: Control, world: World, gateway: DiscordRestGateway
) -> None:
    """The owner drags the bot's role to the bottom: ordering roles asks them to move it up."""
    spec = course(world.users)
    done = await run_all(spec, gateway, world.guild_id, until="discord.role:student")
    await control("POST", f"/guilds/{world.guild_id}/bot-role", json={"position": 1})
    with pytest.raises(ActionRequiredError) as caught:
        await run_step(spec, "discord.role-order", gateway, done)
    assert caught.value.reason == "discord.role_hierarchy"
    assert "drag the bot's role above Instructor, TA, Student" in caught.value.message


async def test_deleted_channel_and_role_are_recreated_on_rerun(
    server: SandboxServer, control: Control, world: World, gateway: DiscordRestGateway
) -> None:
    """A stored id that no longer exists is replaced by a new resource, once."""
    await control("POST", f"/guilds/{world.guild_id}/members", json={"user": "grace"})
    spec = course(world.users)
    first = await run_all(spec, gateway, world.guild_id)
    await gateway.delete_channel(first["discord.channel:lectures"].external_id, reason="test")
    second = await run_all(spec, gateway, world.guild_id, done=first)
    old = first["discord.channel:lectures"].external_id
    assert second["discord.channel:lectures"].external_id != old
    assert channel_names(server, world.guild_id)[("lectures", 0)] == 1


async def test_duplicates_left_by_an_earlier_attempt_are_removed(
    world: World, gateway: DiscordRestGateway
) -> None:
    """Two same-name roles and categories (a clean-up that failed half-way) end as one each."""
    spec = course(world.users)
    for _ in range(2):
        await gateway.create_role(
            world.guild_id,
            name="Student",
            permissions=0,
            hoist=False,
            mentionable=True,
            reason="earlier attempt",
        )
        await gateway.create_channel(
            world.guild_id,
            name=spec.code,
            type=4,
            parent_id=None,
            position=0,
            topic=None,
            overwrites=(),
            reason="earlier attempt",
        )
    done = await run_all(spec, gateway, world.guild_id, until="discord.category:course")
    roles = [r for r in await gateway.list_roles(world.guild_id) if r.name == "Student"]
    categories = [
        c
        for c in await gateway.list_channels(world.guild_id)
        if c.type == 4 and c.name == spec.code
    ]
    assert [r.id for r in roles] == [done["discord.role:student"].external_id]
    assert [c.id for c in categories] == [done["discord.category:course"].external_id]
