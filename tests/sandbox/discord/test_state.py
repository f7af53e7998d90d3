"""Snapshot/restore/reset, the server as the client shows it, and gateway RESUME after op 7."""

from __future__ import annotations

from sandbox.console.discord_view import roles_of, visible_channels

from .conftest import Bot, Running, World, make_world, next_event


async def test_snapshot_restore_and_reset(running: Running, world: World) -> None:
    """A snapshot restores the same world; reset goes back to the default users and the admin
    server only."""
    sandbox = running.sandbox
    await running.api("POST", f"/guilds/{world.guild_id}/roles", json={"name": "Lab"})
    saved = sandbox.snapshot()
    sandbox.reset()
    assert [g["name"] for g in (await running.control("GET", "/guilds"))[1]] == ["Department Admin"]
    sandbox.restore(saved)
    _, roles, _ = await running.api("GET", f"/guilds/{world.guild_id}/roles")
    assert "Lab" in {r["name"] for r in roles}
    _, role, _ = await running.api("POST", f"/guilds/{world.guild_id}/roles", json={"name": "New"})
    assert int(role["id"]) > max(int(r["id"]) for r in roles)


async def test_the_client_shows_roles_and_who_sees_each_channel(
    running: Running, world: World
) -> None:
    """The server as the sandbox's client shows it: the roles with their member counts, and a
    private channel only to the members its overwrites let see it."""
    g = world.guild_id
    _, role, _ = await running.api("POST", f"/guilds/{g}/roles", json={"name": "Lab <1>"})
    ow = [
        {"id": g, "type": 0, "allow": 0, "deny": 1024},
        {"id": role["id"], "type": 0, "allow": 1024, "deny": 0},
    ]
    await running.api(
        "POST", f"/guilds/{g}/channels", json={"name": "lab-1", "permission_overwrites": ow}
    )
    grace = int(world.users["grace"])
    status, _ = await running.control("POST", f"/guilds/{g}/members", json={"user": "grace"})
    assert status == 201
    guild = running.sandbox.state.world.guilds[int(g)]

    def seen() -> list[str]:
        return [c.name for group in visible_channels(guild, grace) for c in group.channels]

    assert "lab-1" not in seen()
    assert "general" in seen()
    status, _, _ = await running.api("PUT", f"/guilds/{g}/members/{grace}/roles/{role['id']}")
    assert status == 204
    assert "lab-1" in seen()
    assert ("Lab <1>", 1, False) in roles_of(guild)


async def test_gateway_resume_after_reconnect(running: Running, world: World, bot: Bot) -> None:
    """After op 7 the client RESUMEs and still receives dispatches."""
    status, body = await running.control("POST", "/gateway/reconnect")
    assert (status, body) == (200, {"reconnected": 1})
    await next_event(bot, "resumed")
    assert (await running.control("GET", "/gateway"))[1] == {"connected": 1, "sessions": 1}
    second = await make_world(running)
    assert (await next_event(bot, "guild_join")).id == int(second.guild_id)
