"""Rate limits: bucket headers, 429 with Via, the global limit, invalid-request counting."""

from __future__ import annotations

from sandbox.core.emulator import SystemClock
from sandbox.discord import BucketRate, DiscordConfig, RateConfig
from tests.fakes.discord_urls import discord_pointed_at

from .conftest import TOKEN, make_world, serve
from .discordpy import Route, discord

TIGHT = DiscordConfig(
    rates=RateConfig(
        buckets={"default": BucketRate(2, 10.0), "role_create": BucketRate(250, 101995.0)},
        global_per_second=5,
    )
)


async def test_bucket_headers_and_429_with_via() -> None:
    """Each response carries X-RateLimit-*; the bucket's third call is a 429 discord.py honours."""
    async with serve(TIGHT) as running:
        world = await make_world(running)
        path = f"/guilds/{world.guild_id}"
        status, _, h1 = await running.api("GET", path)
        assert status == 200
        assert (h1["X-RateLimit-Limit"], h1["X-RateLimit-Remaining"]) == ("2", "1")
        status, _, h2 = await running.api("GET", path)
        assert h2["X-RateLimit-Remaining"] == "0"
        assert 0 < float(h2["X-RateLimit-Reset-After"]) <= 10.0
        assert h2["X-RateLimit-Bucket"] == h1["X-RateLimit-Bucket"]
        status, body, h3 = await running.api("GET", path)
        assert status == 429
        assert body == {
            "code": 0,
            "message": "You are being rate limited.",
            "retry_after": 10.0,
            "global": False,
        }
        assert h3["Via"] == "1.1 sandbox"
        assert h3["Retry-After"] == "10"
        assert h3["X-RateLimit-Scope"] == "user"
        assert h3["Content-Type"] == "application/json"
        running.clock.advance(10.0)
        assert (await running.api("GET", path))[0] == 200


async def test_buckets_are_per_major_parameter() -> None:
    """Two guilds have separate buckets for the same route."""
    async with serve(TIGHT) as running:
        first, second = await make_world(running), await make_world(running)
        for _ in range(2):
            await running.api("GET", f"/guilds/{first.guild_id}/roles")
        assert (await running.api("GET", f"/guilds/{first.guild_id}/roles"))[0] == 429
        assert (await running.api("GET", f"/guilds/{second.guild_id}/roles"))[0] == 200


async def test_role_create_bucket_is_250_per_28_hours() -> None:
    """The role-create bucket reports 250 per ~28 h (101995 s), scaled by rate_scale."""
    async with serve(rate_scale=100.0) as running:
        world = await make_world(running)
        _, _, headers = await running.api("POST", f"/guilds/{world.guild_id}/roles", json={})
        assert headers["X-RateLimit-Limit"] == "250"
        assert float(headers["X-RateLimit-Reset-After"]) == 1019.95


async def test_global_limit_and_interaction_exemption() -> None:
    """Past the global per-second limit every route gets a global 429; interactions don't count."""
    async with serve(TIGHT) as running:
        for _ in range(5):
            await running.api("GET", "/gateway/bot")
        status, body, headers = await running.api("GET", "/users/@me")
        assert status == 429
        assert body["global"] is True
        assert headers["X-RateLimit-Global"] == "true"
        assert headers["X-RateLimit-Scope"] == "global"
        assert headers["Via"] == "1.1 sandbox"
        status, body, _ = await running.api("POST", "/interactions/1/x/callback", json={"type": 5})
        assert (status, body["code"]) == (404, 10062)
        running.clock.advance(1.0)
        assert (await running.api("GET", "/users/@me"))[0] == 200


async def test_invalid_requests_are_counted_in_a_window() -> None:
    """401, 403 and 429 answers count as invalid requests for 10 minutes; others don't."""
    async with serve(TIGHT) as running:
        world = await make_world(running, permissions=1024)
        await running.api("GET", "/users/@me", token="bad")  # 401
        await running.api("POST", f"/guilds/{world.guild_id}/roles", json={})  # 403
        await running.api("GET", f"/guilds/{world.guild_id}/channels")  # 200
        await running.api("GET", "/invites/none")  # 404
        status, counter = await running.control("GET", "/invalid-requests")
        assert status == 200
        assert counter == {"count": 2, "window_seconds": 600.0}
        running.clock.advance(600.0)
        assert (await running.control("GET", "/invalid-requests"))[1]["count"] == 0


async def test_discordpy_waits_out_a_429_and_retries() -> None:
    """discord.py sleeps `retry_after` on a 429 with Via and then succeeds.

    discord.py sleeps on the wall clock, so this test uses the real clock with a 100 ms window
    (rate_scale=100). Another caller with the same token empties the bucket first.
    """
    config = DiscordConfig(rates=RateConfig(buckets={"default": BucketRate(1, 10.0)}))
    async with serve(config, rate_scale=100.0, clock=SystemClock()) as running:
        with discord_pointed_at(running.base):
            client = discord.Client(intents=discord.Intents.none())
            try:
                await client.login(TOKEN)
                assert (await running.api("GET", "/gateway/bot"))[0] == 200
                data = await client.http.request(Route("GET", "/gateway/bot"))
                assert data["url"].startswith("ws://127.0.0.1")
                _status, counter = await running.control("GET", "/invalid-requests")
                assert counter["count"] == 1  # the 429 discord.py got before its retry
            finally:
                await client.close()
