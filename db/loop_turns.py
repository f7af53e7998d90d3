"""Long CPU work on the event loop, in slices: `LoopTurns` lets the others have the loop between.

A claim (or a lease renewal) needs a dozen turns of the loop, one per statement and one per
answer from aiosqlite's thread, and each turn waits behind whatever holds the loop then. Work
that yields after a fixed count of items (500 people, 200 hashes) holds it for 2 to 3 ms on a
quiet machine and 5 to 10 ms on a busy one, and a claim queued behind a dozen such slices took
80 to 125 ms (`bench/big_course.py`, during a 10,000-student update). Slices measured in time
stay short whatever the machine's speed.
"""

from __future__ import annotations

import asyncio
import time

# Long enough that yielding costs little (a turn of an idle loop is some microseconds), short
# enough that a dozen of them add a few milliseconds to a claim.
SLICE_S = 0.0005


class LoopTurns:
    """Call `turn` after each item of a long loop: it yields once `slice_s` has passed since
    the last yield (or since it was made)."""

    def __init__(self, slice_s: float = SLICE_S) -> None:
        self._slice_s = slice_s
        self._until = time.perf_counter() + slice_s

    async def turn(self) -> None:
        if time.perf_counter() >= self._until:
            await asyncio.sleep(0)
            self._until = time.perf_counter() + self._slice_s
