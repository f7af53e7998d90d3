"""The shared ledger on PostgreSQL beyond spacing: an hourly-style budget kept by every engine
(process) together, and header-learned buckets counted before each call, across engines."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

import pytest

from db.engine import create_engine
from db.pace_ledger import DatabaseBuckets, DatabasePaceLedger

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.parametrize("database_url", ["postgres"], indirect=True),
]


@dataclass(frozen=True)
class Budget:
    count: int
    window_s: float


@dataclass(frozen=True)
class Answer:
    limit: int | None = None
    remaining: int | None = None
    reset_after_s: float | None = None
    retry_after_s: float | None = None


class Buckets:
    """The ledger's buckets, asking for the wait only (no slot reserved with the count)."""

    def __init__(self, ledger: DatabaseBuckets) -> None:
        self._ledger = ledger

    async def take(self, account: str, bucket: str) -> float:
        return (await self._ledger.take(account, bucket))[0]

    async def learn(self, account: str, bucket: str, answer: Answer) -> None:
        await self._ledger.learn(account, bucket, answer)


def buckets(engine: object) -> Buckets:
    return Buckets(
        DatabaseBuckets(
            engine,  # type: ignore[arg-type]
            margin_s=0.05,
            same_window_s=0.01,
            learn_timeout_s=5.0,
            poll_s=0.02,
        )
    )


async def test_a_budget_holds_across_engines(database_url: str) -> None:
    """Budget 3 per 10 s, spacing 1 s, six reservations from two engines: the first three
    go 1 s apart, the fourth no earlier than 10 s after the first, and so on (waits only:
    nothing sleeps; the tolerance is the answers' way back on a busy machine)."""
    engines = [create_engine(database_url) for _ in range(2)]
    try:
        ledgers = [DatabasePaceLedger(engine) for engine in engines]
        loop = asyncio.get_running_loop()
        budget = Budget(count=3, window_s=10.0)
        starts = []
        for i in range(6):
            wait = await ledgers[i % 2].reserve("github:abc:write", 1.0, budget)
            starts.append(loop.time() + wait)
        starts.sort()
        first = starts[0]
        offsets = [s - first for s in starts]
        assert offsets == pytest.approx([0.0, 1.0, 2.0, 10.0, 11.0, 12.0], abs=0.3), offsets
    finally:
        for engine in engines:
            await engine.dispose()


async def test_a_bucket_is_counted_by_every_engine_together(database_url: str) -> None:
    """The first call probes and the other engine waits for its answer; once the answer says
    2 of 3 are left for 10 s, the two engines together get two calls, and the next waits for
    the reset; a Retry-After closes the bucket for everyone."""
    engines = [create_engine(database_url) for _ in range(2)]
    try:
        one, two = (buckets(engine) for engine in engines)
        assert await one.take("discord:abc", "POST /channels:1") == 0.0
        assert 0 < await two.take("discord:abc", "POST /channels:1") <= 0.02
        await one.learn("discord:abc", "POST /channels:1", Answer(3, 2, 10.0))
        assert await two.take("discord:abc", "POST /channels:1") == 0.0
        assert await one.take("discord:abc", "POST /channels:1") == 0.0
        wait = await two.take("discord:abc", "POST /channels:1")
        assert wait == pytest.approx(10.05, abs=0.5)
        # Another bucket, or another credential, is not held up.
        assert await two.take("discord:abc", "POST /channels:2") == 0.0
        assert await two.take("discord:other", "POST /channels:1") == 0.0
        # An answer from this window saying fewer are left lowers the count; one from a
        # window long past does not raise it.
        await one.learn("discord:abc", "POST /channels:2", Answer(5, 0, 3.0))
        assert await one.take("discord:abc", "POST /channels:2") > 2.5
        await two.learn("discord:other", "POST /channels:1", Answer(5, 4, 20.0))
        await two.learn("discord:other", "POST /channels:1", Answer(None, None, None, 7.0))
        assert await one.take("discord:other", "POST /channels:1") == pytest.approx(7.05, abs=0.5)
    finally:
        for engine in engines:
            await engine.dispose()


async def test_a_window_past_its_reset_starts_afresh(database_url: str) -> None:
    """A spent bucket whose window (0.3 s) has ended gives the whole limit again."""
    engine = create_engine(database_url)
    try:
        ledger = buckets(engine)
        assert await ledger.take("discord:abc", "b") == 0.0
        await ledger.learn("discord:abc", "b", Answer(2, 1, 0.3))
        assert await ledger.take("discord:abc", "b") == 0.0
        wait = await ledger.take("discord:abc", "b")
        assert 0 < wait <= 0.4
        await asyncio.sleep(wait)
        assert [await ledger.take("discord:abc", "b") for _ in range(2)] == [0.0, 0.0]
        assert await ledger.take("discord:abc", "b") > 0
    finally:
        await engine.dispose()


@dataclass(frozen=True)
class Slot:
    account: str
    interval_s: float
    budget: Budget | None = None


async def test_a_slot_is_reserved_with_the_count_only_when_the_bucket_lets_the_call_go(
    database_url: str,
) -> None:
    """take() with a slot: the slot is reserved in the same transaction when the bucket lets
    the call through, and not at all when the call must wait for the bucket."""
    engine = create_engine(database_url)
    try:
        ledger = DatabaseBuckets(
            engine, margin_s=0.05, same_window_s=0.01, learn_timeout_s=5.0, poll_s=0.02
        )
        slot = Slot("discord:abc:any", 10.0)
        assert await ledger.take("discord:abc", "b", slot) == (0.0, 0.0)
        await ledger.learn("discord:abc", "b", Answer(2, 1, 30.0))
        wait, slot_wait = await ledger.take("discord:abc", "b", slot)
        assert wait == 0.0
        assert slot_wait == pytest.approx(10.0, abs=0.5)
        wait, slot_wait = await ledger.take("discord:abc", "b", slot)
        assert wait > 20
        assert slot_wait == 0.0
        # The refused call took no slot: the next one is a single spacing after the second.
        pace = DatabasePaceLedger(engine)
        assert await pace.reserve("discord:abc:any", 10.0) == pytest.approx(20.0, abs=0.5)
    finally:
        await engine.dispose()
