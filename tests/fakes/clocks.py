"""Fakes of `provisioning.clock.Clock`: time that moves only as a test lets it.

Two are enough. `ManualClock` when nothing may move time but the test; `FastForwardClock` when
waiting is part of what runs, and a wait should take no real time. The sandbox's emulators
have their own clock protocol and fakes (`sandbox/core/clock.py`); these are the product's.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

START = datetime(2027, 1, 10, 9, 0, tzinfo=UTC)


class ManualClock:
    """Moves only when the test calls `advance`; `sleep` waits until it is cancelled.

    Use it for services that stamp rows (with `tick`, every reading is later than the one
    before, so stamps order strictly) and for the step runner, whose only sleeper, the lease
    keeper, must not move time by itself.
    """

    def __init__(self, start: datetime = START, tick: timedelta = timedelta(0)) -> None:
        self.wall = start
        self.mono = 0.0
        self.tick = tick

    def now(self) -> datetime:
        current = self.wall
        self.wall += self.tick
        return current

    def monotonic(self) -> float:
        return self.mono

    async def sleep(self, seconds: float) -> None:
        await asyncio.Event().wait()

    def advance(self, seconds: float) -> None:
        """Move both readings forward by `seconds`."""
        self.wall += timedelta(seconds=seconds)
        self.mono += seconds


class FastForwardClock(ManualClock):
    """`sleep` returns at once, with time moved on to when the sleeper would have woken.

    Use it where waits are the behaviour under test (the rate governor's spacing, lease
    renewals while a step runs) or would only slow a test down (a governor in front of the
    sandbox). Sleepers that overlap each wake at the time they asked for, never before now.
    """

    async def sleep(self, seconds: float) -> None:
        wake_at = self.mono + seconds
        # Yield once, as a real sleep does, so concurrent sleepers interleave.
        await asyncio.sleep(0)
        if wake_at > self.mono:
            # Land exactly on `wake_at` (adding the difference could be off by a rounding).
            self.wall += timedelta(seconds=wake_at - self.mono)
            self.mono = wake_at
