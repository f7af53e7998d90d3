"""A route's window spent: the call that spent it returns at once, and the calls waiting for
it go when it ends, not a window later.

discord.py hands the call that spent a bucket back only after sleeping until the window's end
(its own pre-emptive wait): that call's step waited a window for nothing, and the governor
heard the answer a window late. Counting the answer's Reset-After from then put the window's
end one window too far: every call waiting for it waited twice (a laboratory's channels
beyond the first ten, 10 s each time).
"""

from __future__ import annotations

import asyncio
import dataclasses
import time

import discord
import pytest

from clients.discord.gateway import DiscordRestGateway
from provisioning.clock import SystemClock
from provisioning.governor import GovernorLimits, RateGovernor
from sandbox.discord import BucketRate, DiscordConfig, RateConfig

from .conftest import ListSink, World

# Three channel creations per window of 100 s: 1 s at the sandbox's speed-up of 100.
PER_WINDOW = 3
WINDOW_S = 1.0


@pytest.fixture
def discord_config() -> DiscordConfig:
    rates = RateConfig()
    buckets = {**rates.buckets, "channel_create": BucketRate(PER_WINDOW, WINDOW_S * 100)}
    return DiscordConfig(rates=dataclasses.replace(rates, buckets=buckets))


def governed(client: discord.Client) -> DiscordRestGateway:
    """The gateway with a governor in real time (its waits are real)."""
    governor = RateGovernor("discord", GovernorLimits.discord(scale=1e6), SystemClock())
    return DiscordRestGateway(client, governor)


async def create(gateway: DiscordRestGateway, guild_id: str, name: str) -> float:
    """Create a channel; when the call came back (`time.perf_counter`)."""
    await gateway.create_channel(
        guild_id,
        name=name,
        type=0,
        parent_id=None,
        position=None,
        topic=None,
        overwrites=[],
        reason="test",
    )
    return time.perf_counter()


async def test_the_call_that_spends_a_window_returns_at_once(
    world: World, client: discord.Client
) -> None:
    """Three creations, the window's three: all back well before the window ends (the third
    came back when it did, a second after the first left)."""
    gateway = governed(client)
    began = time.perf_counter()
    returned = await asyncio.gather(
        *(create(gateway, world.guild_id, f"lab-{i}") for i in range(PER_WINDOW))
    )
    assert max(returned) - began < WINDOW_S / 2, [t - began for t in returned]


async def test_calls_waiting_for_a_spent_window_go_when_it_ends(
    world: World, client: discord.Client, sink: ListSink
) -> None:
    """Five creations at once, three a window: the fourth and fifth leave when the first
    window ends (real time: the waits are the governor's), with no 429; before, the fifth
    left a second window later."""
    gateway = governed(client)
    await asyncio.gather(
        *(create(gateway, world.guild_id, f"lab-{i}") for i in range(PER_WINDOW + 2))
    )
    creates = [e for e, _ in sink.rows if e.method == "POST" and e.path.endswith("/channels")]
    assert [e.status for e in creates] == [201] * (PER_WINDOW + 2)
    sent = sorted(e.sent_perf for e in creates)
    first, later = sent[0], sent[PER_WINDOW:]
    # The window is respected (it began at the first creation's arrival)...
    assert all(t - first >= WINDOW_S * 0.9 for t in later), [t - first for t in sent]
    # ...and not waited for twice.
    assert all(t - first < WINDOW_S * 1.5 for t in later), [t - first for t in sent]
