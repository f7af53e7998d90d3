"""Platform limits: channels, channels per category, roles, invites and overwrites."""

from __future__ import annotations

from sandbox.discord import DiscordConfig, Limits

from .conftest import make_world, serve

SMALL = DiscordConfig(
    limits=Limits(
        channels_per_guild=6,
        channels_per_category=2,
        roles_per_guild=4,
        invites_per_guild=2,
        overwrites_per_channel=3,
    )
)


async def test_channel_limit_is_30013() -> None:
    """Creating past the per-guild channel limit (categories included) gives 400/30013."""
    async with serve(SMALL) as running:
        world = await make_world(running)
        codes = []
        for i in range(3):  # the new server already has 4 channels
            status, body, _ = await running.api(
                "POST", f"/guilds/{world.guild_id}/channels", json={"name": f"c{i}", "type": 4}
            )
            codes.append(status if status == 201 else (status, body["code"]))
        assert codes == [201, 201, (400, 30013)]


async def test_channels_per_category_limit() -> None:
    """A category holds a limited number of channels; one more is a 50035 on parent_id."""
    async with serve(DiscordConfig(limits=Limits(channels_per_category=2))) as running:
        world = await make_world(running)
        g = world.guild_id
        _, cat, _ = await running.api(
            "POST", f"/guilds/{g}/channels", json={"name": "Labs", "type": 4}
        )
        for name in ("a", "b"):
            status, _, _ = await running.api(
                "POST", f"/guilds/{g}/channels", json={"name": name, "parent_id": cat["id"]}
            )
            assert status == 201
        status, err, _ = await running.api(
            "POST", f"/guilds/{g}/channels", json={"name": "c", "parent_id": cat["id"]}
        )
        assert (status, err["code"]) == (400, 50035)
        assert err["errors"]["parent_id"]["_errors"][0]["code"] == "CHANNEL_PARENT_MAX_CHANNELS"


async def test_role_limit_is_30005() -> None:
    """Creating past the role limit (@everyone and the bot role count) gives 400/30005."""
    async with serve(SMALL) as running:
        world = await make_world(running)
        results = []
        for i in range(3):
            status, body, _ = await running.api(
                "POST", f"/guilds/{world.guild_id}/roles", json={"name": f"r{i}"}
            )
            results.append(status if status == 200 else (status, body["code"]))
        assert results == [200, 200, (400, 30005)]


async def test_invite_limit_is_30016() -> None:
    """Creating past the live-invite limit gives 400/30016."""
    async with serve(SMALL) as running:
        world = await make_world(running)
        results = []
        for _ in range(3):
            status, body, _ = await running.api(
                "POST", f"/channels/{world.general_id}/invites", json={"unique": True}
            )
            results.append(status if status == 200 else (status, body["code"]))
        assert results == [200, 200, (400, 30016)]


async def test_overwrite_limit() -> None:
    """More overwrites than allowed is a 50035 on create and 30060 on PUT."""
    async with serve(SMALL) as running:
        world = await make_world(running)
        g = world.guild_id
        roles = []
        for i in range(2):
            roles.append(
                (await running.api("POST", f"/guilds/{g}/roles", json={"name": f"r{i}"}))[1]
            )
        many = [{"id": r["id"], "type": 0, "allow": 0, "deny": 0} for r in roles]
        many += [{"id": g, "type": 0, "allow": 0, "deny": 0}, {"id": world.bot_role_id, "type": 0}]
        status, err, _ = await running.api(
            "POST", f"/guilds/{g}/channels", json={"name": "x", "permission_overwrites": many}
        )
        assert (status, err["code"]) == (400, 50035)
        _, ch, _ = await running.api(
            "POST", f"/guilds/{g}/channels", json={"name": "y", "permission_overwrites": many[:3]}
        )
        status, err, _ = await running.api(
            "PUT", f"/channels/{ch['id']}/permissions/{world.bot_role_id}", json={"type": 0}
        )
        assert (status, err["code"]) == (400, 30060)
