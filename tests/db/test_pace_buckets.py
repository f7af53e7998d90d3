"""The shared ledger on PostgreSQL beyond spacing: an hourly-style budget kept by every engine
(process) together, and header-learned buckets counted before each call, across engines."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import event, select

from db.engine import create_engine
from db.models import PaceBucket
from db.pace_ledger import DatabaseBuckets, DatabasePaceLedger
from provisioning.clock import SystemClock
from provisioning.errors import PlatformError
from provisioning.governor import BLOCK_MAX, GovernorLimits, RateGovernor

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
        assert (await ledger.take("discord:abc", "b", slot))[:2] == (0.0, 0.0)
        await ledger.learn("discord:abc", "b", Answer(2, 1, 30.0))
        wait, slot_wait, _, _ = await ledger.take("discord:abc", "b", slot)
        assert wait == 0.0
        assert slot_wait == pytest.approx(10.0, abs=0.5)
        wait, slot_wait, _, _ = await ledger.take("discord:abc", "b", slot)
        assert wait > 20
        assert slot_wait == 0.0
        # The refused call took no slot: the next one is a single spacing after the second.
        pace = DatabasePaceLedger(engine)
        assert await pace.reserve("discord:abc:any", 10.0) == pytest.approx(20.0, abs=0.5)
    finally:
        await engine.dispose()


async def test_a_take_counts_up_to_a_tenth_of_what_the_window_has_left(
    database_url: str,
) -> None:
    """`want` calls at once: a probe is one call whatever is asked; then up to `want`, never
    more than a tenth of what is left (at least one), each taken off the window, and good
    until the window's end; a spent window counts none."""
    engine = create_engine(database_url)
    try:
        ledger = DatabaseBuckets(
            engine, margin_s=0.05, same_window_s=0.01, learn_timeout_s=5.0, poll_s=0.02
        )
        probe = await ledger.take("github:abc", "core", want=10)
        assert (probe.wait_s, probe.granted) == (0.0, 1)
        await ledger.learn("github:abc", "core", Answer(1000, 999, 60.0))
        block = await ledger.take("github:abc", "core", want=10)
        assert (block.wait_s, block.granted) == (0.0, 10)
        assert block.good_for_s == pytest.approx(60.0, abs=1.0)
        await ledger.learn("github:abc", "core", Answer(1000, 25, 60.0))  # others' calls
        assert [(await ledger.take("github:abc", "core", want=10)).granted for _ in range(3)] == [
            2,
            2,
            2,
        ]
        assert [(await ledger.take("github:abc", "core", want=10)).granted for _ in range(19)] == [
            1
        ] * 19
        spent = await ledger.take("github:abc", "core", want=10)
        assert spent.wait_s == pytest.approx(60.0, abs=1.0)
        assert spent.granted == 0
    finally:
        await engine.dispose()


async def remaining(engine: Any) -> int:
    async with engine.connect() as conn:
        return int((await conn.execute(select(PaceBucket.remaining))).scalar_one())


def shared_ledger(engine: Any) -> DatabasePaceLedger:
    """The ledger as `bot.build.pace_ledger` makes it on PostgreSQL."""
    shared = DatabaseBuckets(
        engine, margin_s=0.05, same_window_s=0.01, learn_timeout_s=5.0, poll_s=0.02
    )
    return DatabasePaceLedger(engine, shared)


def github_governor(engine: Any) -> RateGovernor:
    return RateGovernor(
        "github",
        GovernorLimits.github(),
        SystemClock(),
        max_wait_s=5.0,
        ledger=shared_ledger(engine),
        credential="github:abc",
    )


async def test_a_process_counts_its_credentials_calls_a_block_at_a_time(
    database_url: str,
) -> None:
    """Two processes (engines) with one GitHub credential, 40 reads each at once: each
    process counts them in blocks (a few UPDATEs of the credential's row, not 40), never fewer
    than it sent, and at most a block's worth more; a limit met (`close`) sends none of what a
    process counted ahead."""
    engines = [create_engine(database_url) for _ in range(2)]
    takes = 0

    def count(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        nonlocal takes
        takes += "UPDATE pace_buckets AS b SET" in statement and "granted = CASE" in statement

    reset = str(int(time.time()) + 3600)
    answer = {
        "X-RateLimit-Limit": "5000",
        "X-RateLimit-Remaining": "4999",
        "X-RateLimit-Reset": reset,
    }
    try:
        one, two = (github_governor(engine) for engine in engines)
        assert await one.acquire("core", write=False) is None  # the probe
        await one.answered("core", answer)
        for engine in engines:
            event.listen(engine.sync_engine, "before_cursor_execute", count)
        await asyncio.gather(
            *(g.acquire("core", write=False) for g in (one, two) for _ in range(40))
        )
        assert takes <= 2 * (40 // BLOCK_MAX + 2), takes
        assert 80 <= 4999 - await remaining(engines[0]) <= 80 + 2 * (BLOCK_MAX - 1)
        # Spend what the burst left, up to the next refill: a block of several calls.
        for _ in range(BLOCK_MAX + 1):
            before, left = takes, await remaining(engines[0])
            await one.acquire("core", write=False)
            if takes > before:
                break
        assert left - await remaining(engines[0]) >= 2
        await one.close("core", 30.0)
        before = takes
        with pytest.raises(PlatformError):
            await one.acquire("core", write=False)
        assert takes == before + 1  # asked the ledger, which said to wait
    finally:
        for engine in engines:
            await engine.dispose()


async def test_an_answer_heard_late_counts_its_window_from_its_arrival(
    database_url: str,
) -> None:
    """Discord's way, two processes on one bucket of 3 calls a second: the answer that spends
    the window reaches the governor only when the window ends (discord.py sleeps before it
    hands that answer back), with its age. The calls waiting for the window go when it ends,
    not a window later (they did: its Reset-After was counted from when it was heard)."""
    engines = [create_engine(database_url) for _ in range(2)]
    limit, window_s, bucket = 3, 1.0, "POST /guilds/{guild_id}/channels:1::"
    window: list[float] = []  # arrivals in the platform's current window
    sent: list[float] = []

    async def call(governor: RateGovernor) -> None:
        await governor.acquire(bucket, write=True)
        now = time.monotonic()
        if not window or now >= window[0] + window_s:
            window.clear()
        window.append(now)
        sent.append(now)
        left = window[0] + window_s - now
        answer = {
            "X-RateLimit-Limit": str(limit),
            "X-RateLimit-Remaining": str(limit - len(window)),
            "X-RateLimit-Reset-After": f"{left:.3f}",
        }
        heard = time.perf_counter()
        if len(window) == limit:
            await asyncio.sleep(left)
        await governor.answered(bucket, answer, age_s=time.perf_counter() - heard)

    try:
        one, two = (
            RateGovernor(
                "discord",
                GovernorLimits.discord(scale=1e6),
                SystemClock(),
                ledger=shared_ledger(engine),
                credential="discord:abc",
            )
            for engine in engines
        )
        await call(one)  # the probe: the bucket's limit and window learned
        await asyncio.gather(*(call(g) for g in (one, two, one, two)))
        later = [t - sent[0] for t in sent[limit:]]
        assert len(later) == 2
        assert all(window_s * 0.95 <= t < window_s * 1.5 for t in later), later
    finally:
        for engine in engines:
            await engine.dispose()
