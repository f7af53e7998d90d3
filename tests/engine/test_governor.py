from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from provisioning.governor import RESET_MARGIN_S, GovernorLimits, RateGovernor


class SteppingClock:
    """`sleep` moves time forward by exactly the asked amount and records when calls went."""

    def __init__(self) -> None:
        self.mono = 0.0

    def now(self) -> datetime:
        return datetime(2027, 1, 1, tzinfo=UTC) + timedelta(seconds=self.mono)

    def monotonic(self) -> float:
        return self.mono

    async def sleep(self, seconds: float) -> None:
        # Sleepers overlap: each wakes at the time it asked for, never earlier than now.
        wake_at = self.mono + seconds
        await asyncio.sleep(0)
        self.mono = max(self.mono, wake_at)


async def call(governor: RateGovernor, clock: SteppingClock, bucket: str, write: bool) -> float:
    """Acquire, then say at what time the call went out."""
    before = clock.mono
    await governor.acquire(bucket, write=write)
    return max(before, clock.mono)


async def test_github_writes_are_a_second_apart_and_queue_in_order() -> None:
    """Three writes asked at once go out at 0, 1 and 2 s; the governor counts two waits."""
    clock = SteppingClock()
    governor = RateGovernor("github", GovernorLimits.github(), clock)
    times = [await call(governor, clock, "api", True) for _ in range(3)]
    assert times == [0.0, 1.0, 2.0]
    assert governor.waits == 2


async def test_github_reads_do_not_wait_behind_writes() -> None:
    """A read asked while a write waits for its slot goes out at once."""
    clock = SteppingClock()
    governor = RateGovernor("github", GovernorLimits.github(), clock)
    await governor.acquire("api", write=True)
    waiting_write = asyncio.create_task(governor.acquire("api", write=True))
    await asyncio.sleep(0)
    started = clock.mono
    await governor.acquire("api", write=False)
    assert clock.mono == started
    await waiting_write


async def test_scale_divides_the_spacing() -> None:
    """At scale 50 writes are 20 ms apart, as the sandbox's scaled limits expect."""
    clock = SteppingClock()
    governor = RateGovernor("github", GovernorLimits.github(scale=50), clock)
    times = [await call(governor, clock, "api", True) for _ in range(3)]
    assert times == [0.0, 0.02, 0.04]


async def test_discord_spaces_every_call_under_the_global_limit() -> None:
    """Discord allows 50 requests a second per bot, reads included; we stay at 40."""
    clock = SteppingClock()
    governor = RateGovernor("discord", GovernorLimits.discord(), clock)
    times = [await call(governor, clock, f"b{i}", False) for i in range(3)]
    assert [round(t, 3) for t in times] == [0.0, 0.025, 0.05]


async def test_exhausted_bucket_waits_for_its_reset_and_others_do_not() -> None:
    """`Remaining: 0` closes that bucket until `Reset-After`; `Retry-After` does the same."""
    clock = SteppingClock()
    governor = RateGovernor("github", GovernorLimits.github(), clock)
    governor.observe("roles", {"X-RateLimit-Remaining": "0", "X-RateLimit-Reset-After": "5"})
    assert await call(governor, clock, "channels", False) == 0.0
    assert await call(governor, clock, "roles", False) == pytest.approx(5.0 + RESET_MARGIN_S)
    governor.observe("roles", {"Retry-After": "3"})
    assert await call(governor, clock, "roles", False) == pytest.approx(8.0 + 2 * RESET_MARGIN_S)


async def test_reset_epoch_header_is_understood() -> None:
    """GitHub's `x-ratelimit-reset` is an epoch time; the wait is measured from now."""
    clock = SteppingClock()
    governor = RateGovernor("github", GovernorLimits.github(), clock)
    reset = int(clock.now().timestamp()) + 7
    governor.observe("api", {"x-ratelimit-remaining": "0", "x-ratelimit-reset": str(reset)})
    assert await call(governor, clock, "api", False) == pytest.approx(7.0 + RESET_MARGIN_S)
