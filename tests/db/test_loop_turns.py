"""`LoopTurns`: long work on the event loop lets other tasks run once its slice of time is
spent, and not before (yielding after every item would make the work itself slow)."""

from __future__ import annotations

import asyncio
import time

from db.loop_turns import LoopTurns


async def test_work_lets_another_task_in_once_a_slice_is_spent() -> None:
    order: list[str] = []

    async def other() -> None:
        order.append("other")

    turns = LoopTurns(slice_s=0.05)
    task = asyncio.create_task(other())
    started = time.perf_counter()
    while time.perf_counter() - started < 0.06:  # work past the slice
        pass
    await turns.turn()
    assert order == ["other"]
    await task


async def test_a_new_slice_begins_at_each_yield() -> None:
    yields = 0
    stop = asyncio.Event()

    async def count() -> None:
        nonlocal yields
        while not stop.is_set():
            yields += 1
            await asyncio.sleep(0)

    counter = asyncio.create_task(count())
    await asyncio.sleep(0)
    before = yields
    turns = LoopTurns(slice_s=3600)
    for _ in range(1000):
        await turns.turn()
    assert yields == before  # the slice never ended: the counter never ran (no needless yield)
    turns = LoopTurns(slice_s=0)
    for _ in range(10):
        await turns.turn()
    assert yields == before + 10  # every call ended a slice: one turn each
    stop.set()
    await counter
