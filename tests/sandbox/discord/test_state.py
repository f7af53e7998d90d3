"""Snapshot/restore/reset, the HTML overview and gateway RESUME after op 7."""

from __future__ import annotations

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


async def test_html_shows_roles_channels_visibility_and_masked_invites(
    running: Running, world: World
) -> None:
    """The overview lists roles, who sees each channel, members, and masks invite codes."""
    g = world.guild_id
    _, role, _ = await running.api("POST", f"/guilds/{g}/roles", json={"name": "Lab <1>"})
    ow = [
        {"id": g, "type": 0, "allow": 0, "deny": 1024},
        {"id": role["id"], "type": 0, "allow": 1024, "deny": 0},
    ]
    await running.api(
        "POST", f"/guilds/{g}/channels", json={"name": "lab-1", "permission_overwrites": ow}
    )
    _, invite, _ = await running.api("POST", f"/channels/{world.general_id}/invites", json={})
    html = running.sandbox.render_html()
    assert "Lab &lt;1&gt;" in html
    assert "<td>lab-1</td><td>text</td><td></td><td>Lab &lt;1&gt;</td>" in html
    assert invite["code"] not in html
    assert "ada" in html


async def test_gateway_resume_after_reconnect(running: Running, world: World, bot: Bot) -> None:
    """After op 7 the client RESUMEs and still receives dispatches."""
    status, body = await running.control("POST", "/gateway/reconnect")
    assert (status, body) == (200, {"reconnected": 1})
    await next_event(bot, "resumed")
    assert (await running.control("GET", "/gateway"))[1] == {"connected": 1, "sessions": 1}
    second = await make_world(running)
    assert (await next_event(bot, "guild_join")).id == int(second.guild_id)
