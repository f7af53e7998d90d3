"""Reads asked for at the same time are made once; nothing is kept after."""

from __future__ import annotations

import asyncio

import pytest

from provisioning.shared_reads import SharedReads


class GatedRead:
    """A read that counts its calls and answers only once released."""

    def __init__(self) -> None:
        self.calls = 0
        self.release = asyncio.Event()

    async def __call__(self) -> int:
        self.calls += 1
        await self.release.wait()
        return self.calls


async def test_callers_asking_together_share_one_read_and_a_later_caller_reads_again() -> None:
    """Ten callers of one key while its read runs get that read's answer; one of another key
    reads on its own; once done, the next caller reads afresh (nothing is cached)."""
    reads: SharedReads[int] = SharedReads()
    read, other = GatedRead(), GatedRead()
    callers = [asyncio.create_task(reads.read("course-1", read)) for _ in range(10)]
    apart = asyncio.create_task(reads.read("course-2", other))
    await asyncio.sleep(0)
    read.release.set()
    other.release.set()
    assert await asyncio.gather(*callers) == [1] * 10
    assert await apart == 1
    assert (read.calls, other.calls) == (1, 1)
    assert await reads.read("course-1", read) == 2
    assert read.calls == 2


async def test_a_caller_that_goes_away_leaves_the_read_to_the_others() -> None:
    """Cancelling the caller that started the read does not cancel it for those waiting."""
    reads: SharedReads[int] = SharedReads()
    read = GatedRead()
    first = asyncio.create_task(reads.read("k", read))
    second = asyncio.create_task(reads.read("k", read))
    await asyncio.sleep(0)
    first.cancel()
    read.release.set()
    assert await second == 1
    with pytest.raises(asyncio.CancelledError):
        await first
    assert read.calls == 1


async def test_a_failed_read_fails_every_caller_and_the_next_one_tries_again() -> None:
    """The error reaches each caller of the failed read; the next read is a new one."""
    reads: SharedReads[int] = SharedReads()
    attempts = 0
    gate = asyncio.Event()

    async def failing() -> int:
        nonlocal attempts
        attempts += 1
        await gate.wait()
        if attempts == 1:
            raise LookupError("gone")
        return attempts

    callers = [asyncio.create_task(reads.read("k", failing)) for _ in range(3)]
    await asyncio.sleep(0)
    gate.set()
    results = await asyncio.gather(*callers, return_exceptions=True)
    assert all(isinstance(r, LookupError) for r in results)
    assert await reads.read("k", failing) == 2
