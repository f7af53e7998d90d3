"""The day-long role-create bucket: creates go on while it has room, then fail fast."""

from __future__ import annotations

import dataclasses

import pytest

from clients.discord.gateway import DiscordRestGateway
from provisioning.errors import PlatformError
from sandbox.discord import BucketRate, DiscordConfig, RateConfig

from .conftest import World


@pytest.fixture
def discord_config() -> DiscordConfig:
    """Two role creates per ~28 h (the observed bucket is 250, PLATFORM.md §1.4)."""
    rates = RateConfig()
    buckets = {**rates.buckets, "role_create": BucketRate(2, 101995.0)}
    return DiscordConfig(rates=dataclasses.replace(rates, buckets=buckets))


async def test_role_bucket_is_used_up_then_refused_without_sleeping(
    world: World, gateway: DiscordRestGateway
) -> None:
    """Both creates the bucket allows succeed (discord.py alone refuses the second), the
    next is a retryable 429 PlatformError carrying the wait, not a day-long sleep."""
    for name in ("A", "B"):
        await gateway.create_role(
            world.guild_id, name=name, permissions=0, hoist=False, mentionable=False, reason="t"
        )
    with pytest.raises(PlatformError) as caught:
        await gateway.create_role(
            world.guild_id, name="C", permissions=0, hoist=False, mentionable=False, reason="t"
        )
    assert caught.value.rate_limited
    assert caught.value.retryable
    assert caught.value.retry_after is not None
    assert caught.value.retry_after > 30
